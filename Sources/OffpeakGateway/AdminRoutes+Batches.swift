import Hummingbird
import NIOCore
import OffpeakCore

/// The operator API's batches: listed, looked up and cancelled.
extension AdminRoutes {
    /// Cancels a live batch upstream. The rows the provider finished are settled as usual when it
    /// ends; the others go back to the queue (attempt given back), or with `{"requeue": false}`
    /// are cancelled.
    func cancel(_ id: String, _ request: Request) async throws -> Response {
        let batch = try await cancel(id, requeue: try await Self.requeue(request))
        var writer = JSONWriter(reservingCapacity: 512)
        batch.write(to: &writer)
        return JSONResponse.make(writer.bytes)
    }

    /// Cancels batch `id` upstream; returns it as the provider answered.
    func cancel(_ id: String, requeue: Bool) async throws -> BatchRecord {
        guard var batch = try await store.batch(id: id) else {
            throw OpenAIError(.notFound, "No batch with id '\(id)'.", param: "id", code: "batch_not_found")
        }
        guard batch.state == .live, let upstreamID = batch.upstreamID, batch.cancelled == nil else {
            throw Self.notCancellable(batch)
        }
        guard let provider = upstreams?.target(batch.upstream)?.provider else {
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
        return batch
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

    func batches(_ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        let query = try OpenAIError.parameters { () throws(InvalidParameter) in
            try BatchListQuery(parameter: { parameters.get($0) })
        }
        let page = try await store.listBatches(query)
        return ListResponse.make(page.data, page: (page.hasMore, \.id)) { $0.write(to: &$1) }
    }

    func batch(_ id: String) async throws -> Response {
        guard let batch = try await store.batch(id: id) else {
            throw OpenAIError(.notFound, "No batch with id '\(id)'.", param: "id", code: "batch_not_found")
        }
        var writer = JSONWriter(reservingCapacity: 512)
        batch.write(to: &writer)
        return JSONResponse.make(writer.bytes)
    }
}
