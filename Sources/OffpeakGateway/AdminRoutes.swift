import Hummingbird
import NIOCore
import OffpeakCore

/// The operator API (`/admin/v1`, contract section 10): queues, and usage over every key.
struct AdminRoutes: Sendable {
    let store: any BatchQueue & QueueControl & OperatorViews
    let flusher: (any QueueFlushing)?
    let provider: (any BatchProvider)?
    let usage: UsageReports
    let results: DeferredResults
    let clock: SystemClock

    func register(on group: RouterGroup<GatewayContext>) {
        group.get("usage") { request, _ in try await usage.report(request, owner: nil, allowsKey: true) }
        group.get("queues") { _, _ in try await queues() }
        group.post("queues/pause") { request, _ in try await setPaused(request, true) }
        group.post("queues/resume") { request, _ in try await setPaused(request, false) }
        group.post("queues/flush") { request, _ in try await flush(request) }
        group.get("batches") { request, _ in try await batches(request) }
        group.get("batches/:id") { _, context in try await batch(context.parameters.require("id")) }
        group.post("batches/:id/cancel") { request, context in try await cancel(context.parameters.require("id"), request) }
        group.get("requests/:id") { _, context in try await trace(context.parameters.require("id")) }
        group.get("stats") { request, _ in try await stats(request) }
        group.get("deliveries") { request, _ in try await deliveries(request) }
        group.post("requests/:id/redeliver") { _, context in try await redeliver(context.parameters.require("id")) }
    }

    /// Callbacks, newest first, by the state of their delivery.
    private func deliveries(_ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        let query: DeliveryListQuery
        do {
            query = try DeliveryListQuery(parameter: { parameters.get($0) })
        } catch {
            throw OpenAIError(.badRequest, error.message, param: error.parameter, code: "invalid_parameter")
        }
        let page = try await store.listDeliveries(query)
        return ListResponse.make(page.data, page: (page.hasMore, \.id)) { $0.write(to: &$1) }
    }

    /// Sends any client's callback again, as the client itself may (`/v1/deferred/{id}/redeliver`).
    private func redeliver(_ id: String) async throws -> Response {
        guard let trace = try await store.trace(requestID: id) else {
            throw OpenAIError(.notFound, "No deferred request with id '\(id)'.", param: "id", code: "deferred_request_not_found")
        }
        return try await results.redeliver(id: id, owner: trace.request.owner)
    }

    /// Per model, the deferred requests that ended in the period (`from`, `to` as for usage), and what waits now.
    private func stats(_ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        let period: (from: Int64, to: Int64)
        do {
            period = try UsageQuery.period(parameter: { parameters.get($0) }, now: Int64(clock.now().rounded(.down)))
        } catch {
            throw OpenAIError(.badRequest, error.message, param: error.parameter, code: "invalid_parameter")
        }
        let stats = try await store.stats(from: Timestamp(period.from), to: Timestamp(period.to))
        var writer = JSONWriter(reservingCapacity: 128 + stats.count * 300)
        writer.beginObject()
        writer.field("object", "list")
        writer.field("from", Int(period.from))
        writer.field("to", Int(period.to))
        writer.key("data")
        writer.beginArray()
        for model in stats { model.write(to: &writer) }
        writer.endArray()
        writer.endObject()
        return JSONResponse.make(writer.bytes)
    }

    /// Any client's request, with `trace`: every batch it was placed in, oldest first.
    private func trace(_ id: String) async throws -> Response {
        guard let trace = try await store.trace(requestID: id) else {
            throw OpenAIError(.notFound, "No deferred request with id '\(id)'.", param: "id", code: "deferred_request_not_found")
        }
        return JSONResponse.make(trace.jsonObject())
    }

    /// Cancels a live batch upstream. The rows the provider finished are settled as usual when it
    /// ends; the others go back to the queue (attempt given back), or with `{"requeue": false}`
    /// are cancelled.
    private func cancel(_ id: String, _ request: Request) async throws -> Response {
        let requeue = try await Self.requeue(request)
        guard var batch = try await store.batch(id: id) else {
            throw OpenAIError(.notFound, "No batch with id '\(id)'.", param: "id", code: "batch_not_found")
        }
        guard batch.state == .live, let upstreamID = batch.upstreamID, batch.cancelled == nil else {
            throw Self.notCancellable(batch)
        }
        guard let provider else {
            throw OpenAIError(.serviceUnavailable, "No provider client in this process.", type: "server_error", code: "provider_unavailable")
        }
        let order = OperatorCancel(requeue: requeue)
        guard try await store.recordCancel(batchID: id, order) else { throw Self.notCancellable(batch) }
        do {
            let upstream = try await provider.cancelBatch(id: upstreamID)
            batch.apply(BatchProgress(upstream))
            batch.cancelled = order
        } catch {
            _ = try? await store.recordCancel(batchID: id, nil)
            if case .status(let code) = error.kind, (400..<500).contains(code) {
                throw OpenAIError(
                    .conflict, "The provider would not cancel batch \(id): \(error.message)", code: "batch_not_cancellable")
            }
            throw OpenAIError(.badGateway, "The provider could not be reached to cancel batch \(id).", type: "upstream_error", code: "upstream_unreachable")
        }
        var writer = JSONWriter(reservingCapacity: 512)
        batch.write(to: &writer)
        return JSONResponse.make(writer.bytes)
    }

    static func notCancellable(_ batch: BatchRecord) -> OpenAIError {
        let why =
            switch batch.state {
            case .preparing: "it is still being submitted; try again in a moment"
            case .live: "it is already being cancelled"
            case .ended, .abandoned: "it has ended (\(batch.status))"
            }
        return OpenAIError(.conflict, "Batch \(batch.id) cannot be cancelled: \(why).", code: "batch_not_cancellable")
    }

    /// `{"requeue": bool}` (default true), or an empty body.
    static func requeue(_ request: Request) async throws -> Bool {
        let body = Array(buffer: try await request.body.collect(upTo: 65_536))
        guard body.contains(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return true }
        guard let view = try? JSONObjectView(body) else {
            throw OpenAIError(.badRequest, "The body must be a JSON object.", code: "invalid_body")
        }
        for member in view.members where member.key != "requeue" {
            throw OpenAIError(.badRequest, "Unknown field '\(member.key)'; a cancel takes only 'requeue'.", param: member.key, code: "invalid_body")
        }
        guard let member = view.member("requeue") else { return true }
        guard member.kind == .bool, let requeue = view.bool("requeue") else {
            throw OpenAIError(.badRequest, "'requeue' must be true or false.", param: "requeue", code: "invalid_body")
        }
        return requeue
    }

    private func batches(_ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        let query: BatchListQuery
        do {
            query = try BatchListQuery(parameter: { parameters.get($0) })
        } catch {
            throw OpenAIError(.badRequest, error.message, param: error.parameter, code: "invalid_parameter")
        }
        let page = try await store.listBatches(query)
        return ListResponse.make(page.data, page: (page.hasMore, \.id)) { $0.write(to: &$1) }
    }

    private func batch(_ id: String) async throws -> Response {
        guard let batch = try await store.batch(id: id) else {
            throw OpenAIError(.notFound, "No batch with id '\(id)'.", param: "id", code: "batch_not_found")
        }
        var writer = JSONWriter(reservingCapacity: 512)
        batch.write(to: &writer)
        return JSONResponse.make(writer.bytes)
    }

    private func queues(matching selector: GroupSelector = GroupSelector()) async throws -> [QueueGroup] {
        async let backlogs = store.backlogs()
        async let paused = store.pausedGroups()
        return QueueGroup.list(backlogs: try await backlogs, paused: try await paused, now: clock.now())
            .filter { selector.matches($0.key, upstream: $0.upstream) }
    }

    private func queues() async throws -> Response {
        ListResponse.make(try await queues(), write: { $0.write(to: &$1) })
    }

    /// Pauses or resumes the groups the body selects (those queued, and those paused); answers them as they now stand.
    private func setPaused(_ request: Request, _ paused: Bool) async throws -> Response {
        let selector = try await Self.selector(request)
        let matched = try await queues(matching: selector)
        try await store.setPaused(matched.map(\.key), paused: paused, now: clock.now())
        return ListResponse.make(matched.map { var group = $0; group.paused = paused; return group }, write: { $0.write(to: &$1) })
    }

    /// Flushes the groups the body selects now; answers the batches it started.
    private func flush(_ request: Request) async throws -> Response {
        let selector = try await Self.selector(request)
        guard let flusher else {
            throw OpenAIError(.serviceUnavailable, "No flusher runs in this process.", type: "server_error", code: "flusher_unavailable")
        }
        let groups = try await queues(matching: selector).filter { !$0.paused && $0.queued > 0 }.map(\.key)
        let started = try await flusher.flushNow(groups)
        return ListResponse.make(started, write: { $0.write(to: &$1) })
    }

    static func selector(_ request: Request) async throws -> GroupSelector {
        let body = try await request.body.collect(upTo: 65_536)
        do {
            return try GroupSelector(body: Array(buffer: body))
        } catch {
            throw OpenAIError(.badRequest, error.message, param: error.field, code: "invalid_body")
        }
    }

}
