import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import OffpeakCore

/// Transparent mode: a call with no deferral header that an operator's policy defers. The call is
/// committed like any deferred request, the client's connection is held until the batch answers,
/// and the client receives exactly what the provider would have sent (replayed as server-sent
/// events for a streaming call), or a real-time answer at the rule's deadline if it says so.
struct PolicyDeferral: Sendable {
    let policies: DeferralPolicies
    let intake: DeferredIntake
    let results: DeferredResults
    let passthrough: Passthrough
    /// Rules with `action: flex`.
    let flex: FlexLane
    let store: any RequestStore
    /// What a real-time answer costs.
    let prices: PriceTable
    let clock: SystemClock
    let logger: Logger

    static let optOut = HTTPField.Name("Offpeak-Defer")!
    static let servedByHeader = HTTPField.Name("Offpeak-Served-By")!

    /// Passes the call through unless a rule defers it. A call a rule defers goes through the same
    /// intake as `Prefer: respond-async`; one whose body cannot be deferred gets the same 4xx,
    /// unless the rule says `undeferrable: passthrough`.
    func handle(_ request: Request, context: GatewayContext, endpoint: String) async throws -> Response {
        guard !policies.isEmpty, request.headers[Self.optOut]?.lowercased() != "never" else {
            return try await passthrough.forward(request, context: context)
        }
        // A body announced over the limit is never read: the rule is chosen without its model.
        if intake.exceedsLimit(request) {
            guard let rule = rule(for: request, model: nil), rule.action == .defer, rule.undeferrable == .reject else {
                return try await passthrough.forward(request, context: context)
            }
            throw intake.tooLarge
        }
        let body = try await intake.read(request)
        var replay = request
        replay.body = RequestBody(buffer: ByteBuffer(bytes: body))
        let model = (try? JSONObjectView(body))?.string("model")
        guard let rule = rule(for: request, model: model), rule.action != .passthrough else {
            return try await passthrough.forward(replay, context: context)
        }
        if rule.action == .flex {
            guard let model else { return try await passthrough.forward(replay, context: context) }
            return try await flex.handle(replay, context: context, body: body, model: model, rule: rule)
        }
        let call: DeferredIntake.Validated
        let upstream: Upstream
        do {
            call = try intake.validate(body, streams: .strip)
            upstream = try intake.route(call, endpoint: endpoint)
        } catch {
            guard rule.undeferrable == .passthrough else { throw error }
            return try await passthrough.forward(replay, context: context)
        }
        // A stream is replayed from the result for chat completions only; elsewhere it passes through.
        if call.streaming, rule.stream == .passthrough || !BatchEndpoints.replaysStreams(endpoint) {
            return try await passthrough.forward(replay, context: context)
        }
        let committed: (request: DeferredRequest, replayed: Bool)
        do {
            committed = try await intake.commit(
                call, upstream: upstream, owner: context.owner, endpoint: endpoint, callbackURL: nil,
                idempotencyKey: try intake.idempotencyKey(request), policy: rule.name)
        } catch let error as OpenAIError where error.code == "store_unavailable" {
            // The app waits for an answer, not an id: while the store cannot write, it gets one in real time.
            return try await passthrough.forward(replay, context: context)
        }
        Self.held.increment()
        return try await hold(committed.request, rule: rule, streaming: call.streaming, body: call.body, context: context)
    }

    /// The first rule that matches the call.
    private func rule(for request: Request, model: String?) -> DeferralRule? {
        let presented = request.bearerToken
        let headers = request.headers
        return policies.rule(
            for: CallFacts(
                path: request.uri.path, model: model, isKey: { key in presented == key },
                header: { name in HTTPField.Name(name).flatMap { headers[$0] } }))
    }

    /// Waits for the batch within the rule's limits, falling back to real time at the deadline as it says.
    func hold(_ request: DeferredRequest, rule: DeferralRule, streaming: Bool, body: [UInt8], context: GatewayContext)
        async throws -> Response
    {
        let holdUntil = request.createdAt + rule.hold
        let deadline = rule.deadline.map { request.createdAt + $0 }
        var current = request
        if !current.status.isTerminal {
            current = await wait(for: current, until: min(deadline ?? holdUntil, holdUntil), context: context)
        }
        if current.status.isTerminal { return answer(current, streaming: streaming, servedBy: .batch) }
        // The wait ended at the deadline (the parser refuses one after `hold`): apply the fallback.
        if deadline != nil {
            switch rule.fallback {
            case .never:
                return Self.timeout(current, "Its deadline passed; the batch result will be kept.")
            case .whenQueued:
                if try await store.withdraw(id: current.id, now: clock.now(), reason: "deadline: still queued") {
                    return try await realtime(
                        current, body: body, streaming: streaming, withdrawn: true, reason: "deadline: still queued")
                }
                // Already in a batch: paying for it twice is what `when-queued` avoids; keep waiting.
                current = await wait(for: current, until: holdUntil, context: context)
                if current.status.isTerminal { return answer(current, streaming: streaming, servedBy: .batch) }
            case .always:
                let withdrawn = try await store.withdraw(id: current.id, now: clock.now(), reason: "deadline")
                return try await realtime(
                    current, body: body, streaming: streaming, withdrawn: withdrawn,
                    reason: withdrawn ? "deadline: still queued" : "deadline: also in a batch")
            }
        }
        return Self.timeout(current, "The connection was held for the rule's hold time.")
    }

    private func wait(for request: DeferredRequest, until: Timestamp, context: GatewayContext) async -> DeferredRequest {
        let seconds = until - clock.now()
        guard seconds > 0 else { return request }
        // Held calls wait minutes to hours: re-reading every 5 s (not every second, as a long-poll
        // does) keeps thousands of them cheap; this gateway's poller still wakes them at once.
        return await results.waitUntilTerminal(id: request.id, owner: context.owner, seconds: seconds, recheck: 5) ?? request
    }

    /// Answers from real time, and records that answer on the deferred request.
    private func realtime(_ request: DeferredRequest, body: [UInt8], streaming: Bool, withdrawn: Bool, reason: String)
        async throws -> Response
    {
        Self.fallbacks.increment()
        logger.info("deadline reached: answering from real time", metadata: ["request": "\(request.id)", "reason": "\(reason)"])
        let answer = try await passthrough.fetch(upstream: request.upstream, path: request.endpoint, body: body)
        let response = StoredResponse(statusCode: answer.status, requestID: answer.requestID, body: answer.body)
        let finish = RequestFinish.realtime(
            response, reason: reason, hasCallback: request.callbackURL != nil, model: request.model, prices: prices)
        var recorded = request
        recorded.apply(finish, now: clock.now())
        do {
            // A withdrawn request takes the answer as its result; one in a batch only notes it. Either
            // way the call is on the ledger (and the counters): it was made, and it is billed.
            try await store.recordRealtimeAnswer(id: request.id, withdrawn ? .result(finish) : .noted(finish), now: clock.now())
            UsageMetrics.record(finish, model: request.model, upstream: request.upstream)
        } catch {
            logger.error("could not record a real-time answer", metadata: ["request": "\(request.id)", "error": "\(error)"])
        }
        return self.answer(recorded, streaming: streaming, servedBy: .realtimeFallback)
    }

    /// The provider's answer as the client would have had it, plus the gateway's two headers.
    private func answer(_ request: DeferredRequest, streaming: Bool, servedBy: ServedBy) -> Response {
        var response = results.resultResponse(request)
        response.headers[Self.servedByHeader] = servedBy.rawValue
        guard streaming, let stored = request.response, (200..<300).contains(stored.statusCode),
            let events = StreamReplay.events(from: stored.body)
        else { return response }
        var headers = HTTPFields()
        headers[.offpeakRequestID] = request.id
        headers[Self.servedByHeader] = servedBy.rawValue
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: events)))
    }

    static func timeout(_ request: DeferredRequest, _ why: String) -> Response {
        var headers = HTTPFields()
        headers[.offpeakRequestID] = request.id
        headers[.location] = "/v1/deferred/\(request.id)"
        return JSONResponse.make(
            OpenAIError.body(
                message: "The batch has not answered request \(request.id) yet. \(why) Retrieve it later at /v1/deferred/\(request.id).",
                type: "timeout", param: nil, code: "deferred_timeout"),
            status: .gatewayTimeout, headers: headers)
    }

    static let held = Counter(label: "offpeak_policy_deferred_total")
    static let fallbacks = Counter(label: "offpeak_realtime_fallbacks_total")
}
