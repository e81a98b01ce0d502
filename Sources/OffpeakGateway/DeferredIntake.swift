import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import OffpeakCore

/// The accept path of `POST /v1/chat/completions` with `Prefer: respond-async` (contract section 2):
/// validate, commit durably, answer 202.
struct DeferredIntake: Sendable {
    let store: any DeferredStore
    let configuration: GatewayConfiguration
    let callbacks: CallbackURLPolicy
    let flusherDoorbell: Doorbell
    let results: DeferredResults
    let clock: SystemClock

    func accept(_ request: Request, context: GatewayContext, endpoint: String, prefer: PreferHeader) async throws -> Response {
        let body = try await readBody(request)
        let view: JSONObjectView
        do {
            view = try JSONObjectView(body)
        } catch {
            throw OpenAIError(
                .badRequest, "We could not parse the JSON body of your request (\(error.description)). The body must be a JSON object.",
                code: "invalid_json")
        }
        guard let model = view.string("model"), !model.isEmpty else {
            throw OpenAIError(.badRequest, "You must provide a model parameter: a non-empty string.", param: "model", code: "missing_model")
        }
        if view.bool("stream") == true {
            throw OpenAIError(
                .badRequest, "A streaming request cannot be deferred: remove 'stream' or the respond-async preference.",
                param: "stream", code: "stream_not_deferrable")
        }
        let callbackURL = try await callbackURL(request)
        let idempotencyKey = try idempotencyKey(request)

        let committed = try await commit(
            body: body, model: model, owner: context.owner, endpoint: endpoint, callbackURL: callbackURL,
            idempotencyKey: idempotencyKey, policy: nil)
        let accepted = committed.request
        let replayed = committed.replayed
        if let wait = prefer.wait, wait > 0, !accepted.status.isTerminal {
            let settled = await results.waitUntilTerminal(id: accepted.id, owner: context.owner, seconds: min(wait, configuration.maxWait))
            if let settled, settled.status.isTerminal { return results.resultResponse(settled) }
        } else if accepted.status.isTerminal {
            return results.resultResponse(accepted)
        }
        var headers: HTTPFields = [:]
        headers[.location] = "/v1/deferred/\(accepted.id)"
        headers[.preferenceApplied] = "respond-async"
        headers[.offpeakRequestID] = accepted.id
        if replayed { headers[.idempotentReplayed] = "true" }
        return JSONResponse.make(accepted.jsonObject(), status: .accepted, headers: headers)
    }

    /// Commits a validated body durably (group commit), or finds the request its idempotency key names.
    func commit(
        body: [UInt8], model: String, owner: String, endpoint: String, callbackURL: String?, idempotencyKey: String?,
        policy: String?
    ) async throws -> (request: DeferredRequest, replayed: Bool) {
        var folded = body
        BatchLine.foldLineBreaks(&folded)
        let record = DeferredRequest(
            id: Identifier.deferred(), owner: owner, endpoint: endpoint, model: model, createdAt: clock.now(),
            callbackURL: callbackURL, idempotencyKey: idempotencyKey, bodyDigest: Self.digest(body), bodyBytes: body.count,
            delivery: DeliveryState(status: callbackURL == nil ? .none : .pending), policy: policy)
        switch try await store.accept(NewDeferredRequest(record: record, body: folded)) {
        case .created(let created):
            Self.acceptedCounter.increment()
            flusherDoorbell.ring()
            return (created, false)
        case .existing(let existing):
            return (existing, true)
        case .conflict:
            throw OpenAIError(
                .unprocessableContent, "This Idempotency-Key was already used with a different request body.",
                param: "Idempotency-Key", code: "idempotency_key_reused")
        }
    }

    func readBody(_ request: Request) async throws -> [UInt8] {
        let limit = configuration.maxRequestBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw Self.tooLarge(limit)
        }
        do {
            return Array(buffer: try await request.body.collect(upTo: limit))
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Self.tooLarge(limit)
        }
    }

    static func tooLarge(_ limit: Int) -> OpenAIError {
        OpenAIError(.contentTooLarge, "The request body is larger than the \(limit) bytes a deferred request may have.", code: "request_too_large")
    }

    private func callbackURL(_ request: Request) async throws -> String? {
        guard let raw = request.headers[.offpeakCallbackURL] else { return nil }
        do {
            return try await callbacks.check(raw.trimmingCharacters(in: .whitespaces)).absoluteString
        } catch {
            throw OpenAIError(.badRequest, "\(error)", param: "Offpeak-Callback-Url", code: "invalid_callback_url")
        }
    }

    func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[.idempotencyKey] else { return nil }
        guard !key.isEmpty, key.utf8.count <= 255 else {
            throw OpenAIError(.badRequest, "Idempotency-Key must be 1 to 255 characters.", param: "Idempotency-Key", code: "invalid_idempotency_key")
        }
        return key
    }

    static let acceptedCounter = Counter(label: "offpeak_deferred_accepted_total")

    static func digest(_ body: [UInt8]) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in SHA256.hash(data: body) {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

extension HTTPField.Name {
    static let preferenceApplied = Self("Preference-Applied")!
    static let prefer = Self("Prefer")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
    static let offpeakCallbackURL = Self("Offpeak-Callback-Url")!
    static let offpeakRequestID = Self("Offpeak-Request-Id")!
}
