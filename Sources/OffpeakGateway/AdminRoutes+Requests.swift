import Hummingbird
import NIOCore
import OffpeakCore

/// The operator API's requests: traces, stats per model, and callbacks.
extension AdminRoutes {
    /// Callbacks, newest first, by the state of their delivery.
    func deliveries(_ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        let query = try OpenAIError.parameters { () throws(InvalidParameter) in
            try DeliveryListQuery(parameter: { parameters.get($0) })
        }
        let page = try await store.listDeliveries(query)
        return ListResponse.make(page.data, page: (page.hasMore, \.id)) { $0.write(to: &$1) }
    }

    /// Sends any client's callback again, as the client itself may (`/v1/deferred/{id}/redeliver`).
    func redeliver(_ id: String) async throws -> Response {
        guard let trace = try await store.trace(requestID: id) else {
            throw OpenAIError(.notFound, "No deferred request with id '\(id)'.", param: "id", code: "deferred_request_not_found")
        }
        return try await results.redeliver(id: id, owner: trace.request.owner)
    }

    /// Per model, the deferred requests that ended in the period (`from`, `to` as for usage), and what waits now.
    func stats(_ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        let now = Int64(clock.now().rounded(.down))
        let period = try OpenAIError.parameters { () throws(InvalidParameter) in
            try UsageQuery.period(parameter: { parameters.get($0) }, now: now)
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
    func trace(_ id: String) async throws -> Response {
        guard let trace = try await store.trace(requestID: id) else {
            throw OpenAIError(.notFound, "No deferred request with id '\(id)'.", param: "id", code: "deferred_request_not_found")
        }
        return JSONResponse.make(trace.jsonObject())
    }
}
