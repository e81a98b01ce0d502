import Hummingbird
import NIOCore
import OffpeakCore

/// The operator API (`/admin/v1`, contract section 10): queues, and usage over every key.
struct AdminRoutes: Sendable {
    let store: any BatchQueue & QueueControl & BatchBrowser
    let flusher: (any QueueFlushing)?
    let usage: UsageReports
    let clock: SystemClock

    func register(on group: RouterGroup<GatewayContext>) {
        group.get("usage") { request, _ in try await usage.report(request, owner: nil, allowsKey: true) }
        group.get("queues") { _, _ in try await queues() }
        group.post("queues/pause") { request, _ in try await setPaused(request, true) }
        group.post("queues/resume") { request, _ in try await setPaused(request, false) }
        group.post("queues/flush") { request, _ in try await flush(request) }
        group.get("batches") { request, _ in try await batches(request) }
        group.get("batches/:id") { _, context in try await batch(context.parameters.require("id")) }
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
        var writer = JSONWriter(reservingCapacity: 128 + page.data.count * 400)
        writer.beginObject()
        writer.field("object", "list")
        writer.key("data")
        writer.beginArray()
        for batch in page.data { batch.write(to: &writer) }
        writer.endArray()
        writer.field("first_id", page.data.first?.id)
        writer.field("last_id", page.data.last?.id)
        writer.key("has_more")
        writer.bool(page.hasMore)
        writer.endObject()
        return JSONResponse.make(writer.bytes)
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
        Self.list(try await queues(), write: { $0.write(to: &$1) })
    }

    /// Pauses or resumes the groups the body selects (those queued, and those paused); answers them as they now stand.
    private func setPaused(_ request: Request, _ paused: Bool) async throws -> Response {
        let selector = try await Self.selector(request)
        let matched = try await queues(matching: selector)
        try await store.setPaused(matched.map(\.key), paused: paused, now: clock.now())
        return Self.list(matched.map { var group = $0; group.paused = paused; return group }, write: { $0.write(to: &$1) })
    }

    /// Flushes the groups the body selects now; answers the batches it started.
    private func flush(_ request: Request) async throws -> Response {
        let selector = try await Self.selector(request)
        guard let flusher else {
            throw OpenAIError(.serviceUnavailable, "No flusher runs in this process.", type: "server_error", code: "flusher_unavailable")
        }
        let groups = try await queues(matching: selector).filter { !$0.paused && $0.queued > 0 }.map(\.key)
        let started = try await flusher.flushNow(groups)
        return Self.list(started, write: { $0.write(to: &$1) })
    }

    static func selector(_ request: Request) async throws -> GroupSelector {
        let body = try await request.body.collect(upTo: 65_536)
        do {
            return try GroupSelector(body: Array(buffer: body))
        } catch {
            throw OpenAIError(.badRequest, error.message, param: error.field, code: "invalid_body")
        }
    }

    static func list<T>(_ items: [T], write: (T, inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter(reservingCapacity: 64 + items.count * 200)
        writer.beginObject()
        writer.field("object", "list")
        writer.key("data")
        writer.beginArray()
        for item in items { write(item, &writer) }
        writer.endArray()
        writer.endObject()
        return JSONResponse.make(writer.bytes)
    }
}
