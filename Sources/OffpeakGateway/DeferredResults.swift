import HTTPTypes
import Hummingbird
import NIOCore
import OffpeakCore

/// `/v1/deferred`: the object, its result, cancellation and the list.
struct DeferredResults: Sendable {
    let store: any RequestStore & DeliveryQueue
    let waiters: ResultWaiters
    let maxWait: Double
    let pollInterval: Double
    let deliveryDoorbell: Doorbell
    let clock: SystemClock

    func register(on group: RouterGroup<GatewayContext>) {
        group.get("deferred") { request, context in try await list(request, context) }
        group.get("deferred/:id") { request, context in try await object(request, context) }
        group.get("deferred/:id/result") { _, context in try await result(context) }
        group.delete("deferred/:id") { _, context in try await cancel(context) }
        group.post("deferred/:id/redeliver") { _, context in try await redeliver(context) }
    }

    private func redeliver(_ context: GatewayContext) async throws -> Response {
        try await redeliver(id: context.parameters.require("id"), owner: context.owner)
    }

    /// Sends `owner`'s callback for request `id` again (the client's route, and the operator's for any client).
    func redeliver(id: String, owner: String) async throws -> Response {
        switch try await Redelivery.redeliver(id: id, owner: owner, now: clock.now(), store: store) {
        case .queued(let request):
            deliveryDoorbell.ring()
            return JSONResponse.make(request.jsonObject(), status: .accepted)
        case .notFinished(let request):
            throw OpenAIError(
                .conflict, "This deferred request is \(request.status.rawValue); its callback is sent once it has finished.",
                code: "not_finished")
        case .noCallback:
            throw OpenAIError(.conflict, "This deferred request has no callback URL.", code: "no_callback_url")
        case .notFound:
            throw OpenAIError(.notFound, "No deferred request found with id '\(id)'.", param: "id", code: "deferred_request_not_found")
        }
    }

    private func find(_ context: GatewayContext) async throws -> DeferredRequest {
        let id = try context.parameters.require("id")
        guard let found = try await store.request(id: id, owner: context.owner) else {
            throw OpenAIError(.notFound, "No deferred request found with id '\(id)'.", param: "id", code: "deferred_request_not_found")
        }
        return found
    }

    /// Re-reads the request until it is terminal or `seconds` have passed.
    /// `recheck`: seconds between reads of the store, which is how a result recorded by another
    /// gateway is seen (this gateway's own poller wakes the waiter at once).
    func waitUntilTerminal(id: String, owner: String, seconds: Double, recheck: Double = 1) async -> DeferredRequest? {
        let deadline = clock.now() + seconds
        while true {
            guard let current = try? await store.request(id: id, owner: owner) else { return nil }
            let left = deadline - clock.now()
            if current.status.isTerminal || left <= 0 { return current }
            await waiters.wait(for: id, seconds: min(left, recheck), clock: clock)
        }
    }

    private func object(_ request: Request, _ context: GatewayContext) async throws -> Response {
        var found = try await find(context)
        let prefer = PreferHeader(request.headers[values: .prefer])
        if let wait = prefer.wait, wait > 0, !found.status.isTerminal {
            found = await waitUntilTerminal(id: found.id, owner: context.owner, seconds: min(wait, maxWait)) ?? found
        }
        return JSONResponse.make(found.jsonObject())
    }

    private func result(_ context: GatewayContext) async throws -> Response {
        resultResponse(try await find(context))
    }

    /// The provider's answer when there is one; otherwise what the request's state says.
    func resultResponse(_ found: DeferredRequest) -> Response {
        var headers: HTTPFields = [:]
        headers[.offpeakRequestID] = found.id
        if found.purgedAt != nil {
            return JSONResponse.make(
                OpenAIError.body(
                    message: "The result of this request was deleted (retention, or at its owner's request); the request object remains.",
                    type: "invalid_request_error", param: nil, code: "result_purged"),
                status: .gone, headers: headers)
        }
        switch found.status {
        case .completed, .failed:
            if let response = found.response, !response.body.isEmpty {
                return JSONResponse.make(response.body, status: .init(code: response.statusCode), headers: headers)
            }
            let error = found.error ?? DeferredError(code: "upstream_error", message: "The provider gave no result for this request.")
            return JSONResponse.make(
                OpenAIError.body(message: error.message, type: "upstream_error", param: nil, code: error.code),
                status: .badGateway, headers: headers)
        case .cancelled:
            return JSONResponse.make(
                OpenAIError.body(
                    message: "This deferred request was cancelled before it was submitted.", type: "invalid_request_error",
                    param: nil, code: "request_cancelled"),
                status: .conflict, headers: headers)
        case .queued, .submitted:
            headers[.retryAfter] = String(Int(max(1, min(pollInterval, 60)).rounded(.up)))
            return JSONResponse.make(found.jsonObject(), status: .accepted, headers: headers)
        }
    }

    private func cancel(_ context: GatewayContext) async throws -> Response {
        let id = try context.parameters.require("id")
        switch try await store.cancel(id: id, owner: context.owner, now: clock.now()) {
        case .cancelled(let request):
            waiters.notify([request.id])
            return JSONResponse.make(request.jsonObject())
        case .notQueued(let request):
            guard request.status.isTerminal else {
                throw OpenAIError(
                    .conflict, "This deferred request is \(request.status.rawValue) and can no longer be cancelled.",
                    code: "already_submitted")
            }
            // An ended request: its bodies are deleted now; the object, its usage and cost remain.
            switch try await store.purgeBodies(id: id, owner: context.owner, now: clock.now()) {
            case .purged(let purged): return JSONResponse.make(purged.jsonObject())
            case .notEnded(let current): return JSONResponse.make(current.jsonObject())
            case .notFound:
                throw OpenAIError(.notFound, "No deferred request found with id '\(id)'.", param: "id", code: "deferred_request_not_found")
            }
        case .notFound:
            throw OpenAIError(.notFound, "No deferred request found with id '\(id)'.", param: "id", code: "deferred_request_not_found")
        }
    }

    private func list(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        var query = ListQuery(owner: context.owner)
        if let status = parameters.get("status"), !status.isEmpty {
            guard let value = DeferredStatus(rawValue: status) else {
                let names = DeferredStatus.allCases.map(\.rawValue).joined(separator: ", ")
                throw OpenAIError(.badRequest, "status must be one of \(names).", param: "status", code: "invalid_status")
            }
            query.status = value
        }
        if let model = parameters.get("model"), !model.isEmpty { query.model = model }
        if let limit = parameters.get("limit") {
            guard let value = Int(limit), (1...100).contains(value) else {
                throw OpenAIError(.badRequest, "limit must be a whole number from 1 to 100.", param: "limit", code: "invalid_limit")
            }
            query.limit = value
        }
        if let after = parameters.get("after"), !after.isEmpty { query.after = after }
        let page = try await store.list(query)
        return ListResponse.make(page.data, page: (page.hasMore, \.id)) { $0.write(to: &$1) }
    }
}
