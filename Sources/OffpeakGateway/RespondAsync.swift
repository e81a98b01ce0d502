import Foundation
import HTTPTypes
import Hummingbird
import OffpeakCore

/// `Prefer: respond-async`: the call is taken in through the intake and
/// answered 202 with its id, or with its result when `wait=N` sees it finish.
struct RespondAsync: Sendable {
    let intake: DeferredIntake
    let results: DeferredResults
    let callbacks: CallbackURLPolicy
    let maxWait: Double

    func accept(_ request: Request, context: GatewayContext, endpoint: String, prefer: PreferHeader) async throws -> Response {
        let call = try intake.validate(try await intake.read(request), streams: .refuse)
        let upstream = try intake.route(call, endpoint: endpoint)
        let committed = try await intake.commit(
            call, upstream: upstream, owner: context.owner, endpoint: endpoint, callbackURL: try await callbackURL(request),
            idempotencyKey: try intake.idempotencyKey(request), policy: nil)
        let accepted = committed.request
        if let wait = prefer.wait, wait > 0, !accepted.status.isTerminal {
            let settled = await results.waitUntilTerminal(id: accepted.id, owner: context.owner, seconds: min(wait, maxWait))
            if let settled, settled.status.isTerminal { return results.resultResponse(settled) }
        } else if accepted.status.isTerminal {
            return results.resultResponse(accepted)
        }
        var headers: HTTPFields = [:]
        headers[.location] = "/v1/deferred/\(accepted.id)"
        headers[.preferenceApplied] = "respond-async"
        headers[.offpeakRequestID] = accepted.id
        if committed.replayed { headers[.idempotentReplayed] = "true" }
        return JSONResponse.make(accepted.jsonObject(), status: .accepted, headers: headers)
    }

    private func callbackURL(_ request: Request) async throws -> String? {
        guard let raw = request.headers[.offpeakCallbackURL] else { return nil }
        do {
            return try await callbacks.check(raw.trimmingCharacters(in: .whitespaces)).absoluteString
        } catch {
            throw OpenAIError(.badRequest, "\(error)", param: "Offpeak-Callback-Url", code: "invalid_callback_url")
        }
    }
}
