import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import OffpeakCore

/// The one way a call becomes a deferred request, for `Prefer: respond-async` and for policy
/// deferral alike: read the body (bounded) → validate it → commit it durably. The same checks,
/// and the same errors, on both paths.
struct DeferredIntake: Sendable {
    let store: any RequestStore
    let routes: UpstreamRoutes
    let bounds: QueueBounds
    /// Seconds a client refused by a full queue is asked to wait (the flush cadence).
    let retryAfter: Int
    let maxRequestBytes: Int
    let flusherDoorbell: Doorbell
    /// What a failed write is answered (503), and what `/readyz` learns of it.
    let unavailable: StoreUnavailable
    let clock: SystemClock

    /// What a deferred call's body must be, checked before anything is stored.
    struct Validated: Sendable {
        /// The body to place in the batch line.
        var body: [UInt8]
        var model: String
        /// The client asked for a stream (answered by replaying the result; see `StreamHandling`).
        var streaming: Bool
    }

    /// What to do with `stream: true`.
    enum StreamHandling {
        /// Refuse it: the client asked for a 202 and an id, not a stream.
        case refuse
        /// Batch the call without `stream`; the caller replays the answer as events.
        case strip
    }

    /// The body, read up to the limit; 413 past it.
    func read(_ request: Request) async throws -> [UInt8] {
        if exceedsLimit(request) { throw tooLarge }
        do {
            return Array(buffer: try await request.body.collect(upTo: maxRequestBytes))
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        }
    }

    /// The request announces a body larger than a deferred request may have.
    func exceedsLimit(_ request: Request) -> Bool {
        request.headers[.contentLength].flatMap(Int.init).map { $0 > maxRequestBytes } ?? false
    }

    var tooLarge: OpenAIError {
        OpenAIError(
            .contentTooLarge, "The request body is larger than the \(maxRequestBytes) bytes a deferred request may have.",
            code: "request_too_large")
    }

    /// A JSON object with a non-empty string `model`; `stream` as `streams` says.
    func validate(_ body: [UInt8], streams: StreamHandling) throws -> Validated {
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
        let streaming = view.bool("stream") == true
        guard streaming else { return Validated(body: body, model: model, streaming: false) }
        switch streams {
        case .refuse:
            throw OpenAIError(
                .badRequest, "A streaming request cannot be deferred: remove 'stream' or the respond-async preference.",
                param: "stream", code: "stream_not_deferrable")
        case .strip:
            // The batch line carries the client's body, less `stream` for a call whose answer is replayed.
            return Validated(body: view.removing(["stream", "stream_options"]), model: model, streaming: true)
        }
    }

    /// The upstream whose batches the call goes in: 400 `model_not_routed` when no upstream takes
    /// its model, 400 `endpoint_not_batchable` when that upstream does not batch the endpoint,
    /// 413 when the body is larger than a line of that upstream's files may be.
    func route(_ call: Validated, endpoint: String) throws -> Upstream {
        switch routes.batchUpstream(model: call.model, endpoint: endpoint) {
        case .success(let upstream):
            guard call.body.count <= upstream.limits.maxLineBytes else {
                throw OpenAIError(
                    .contentTooLarge,
                    "The request body is larger than the \(upstream.limits.maxLineBytes) bytes a batch line may have at upstream '\(upstream.name)'.",
                    code: "request_too_large")
            }
            return upstream
        case .failure(.modelNotRouted(let model)):
            throw Passthrough.notRouted(model)
        case .failure(.endpointNotBatchable(let endpoint, let upstream)):
            throw OpenAIError(
                .badRequest, "The model '\(call.model)' is served by upstream '\(upstream)', which does not batch \(endpoint).",
                code: "endpoint_not_batchable")
        }
    }

    /// Commits a validated call durably (group commit), or finds the request its idempotency key names.
    func commit(
        _ call: Validated, upstream: Upstream, owner: String, endpoint: String, callbackURL: String?, idempotencyKey: String?,
        policy: String?
    ) async throws -> (request: DeferredRequest, replayed: Bool) {
        var folded = call.body
        BatchLine.foldLineBreaks(&folded)
        let record = DeferredRequest(
            id: Identifier.deferred(), owner: owner, endpoint: endpoint, model: call.model, upstream: upstream.name,
            createdAt: clock.now(),
            callbackURL: callbackURL, idempotencyKey: idempotencyKey, bodyDigest: Self.digest(call.body),
            bodyBytes: call.body.count, delivery: DeliveryState(status: callbackURL == nil ? .none : .pending), policy: policy)
        let reservation: QueueBounds.Reservation
        do {
            reservation = try bounds.reserve(owner: owner)
        } catch {
            throw queueFull(error)
        }
        var stored = false
        defer { bounds.finish(reservation, created: stored) }
        let outcome: AcceptResult
        do {
            outcome = try await store.accept(NewDeferredRequest(record: record, body: folded))
        } catch {
            // The group this call was in did not commit: 503, none of its calls answered 202.
            throw unavailable.failed(error)
        }
        unavailable.succeeded()
        switch outcome {
        case .created(let created):
            stored = true
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

    /// 429 `queue_full`, with `Retry-After`: nothing was stored.
    func queueFull(_ refusal: QueueBounds.Refusal) -> OpenAIError {
        Self.refusedCounter.increment()
        let message =
            switch refusal {
            case .total(let limit): "The queue is full: \(limit) requests are waiting to be batched. Try again later."
            case .perKey(let limit): "This key has \(limit) requests waiting to be batched, its limit. Try again later."
            }
        var error = OpenAIError(.tooManyRequests, message, type: "rate_limit_error", code: "queue_full")
        error.headers[.retryAfter] = String(retryAfter)
        return error
    }

    static let refusedCounter = Counter(label: "offpeak_deferred_refused_total", dimensions: [("reason", "queue_full")])

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
