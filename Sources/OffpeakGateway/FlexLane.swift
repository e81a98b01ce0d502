import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import OffpeakCore
import OffpeakProvider

/// A policy's flex lane: the call is sent at once, synchronously, with
/// `service_tier: "flex"` (the batch price, answers in minutes rather than hours), a timeout of
/// 15 minutes, and 429/5xx (or no answer) retried with backoff until the rule's `deadline` (its
/// `hold` when it names none); then the rule's fallback: real time (`when-queued`, `always`) or
/// 504 (`never`). The answer carries `Offpeak-Served-By: flex` and is counted in the flex lane.
struct FlexLane: Sendable {
    let passthrough: Passthrough
    let retry: RetryPolicy
    let clock: SystemClock

    static let timeout = TimeAmount.seconds(900)

    func handle(_ request: Request, context: GatewayContext, body: [UInt8], model: String, rule: DeferralRule) async throws -> Response {
        let target = try passthrough.route(model: model)
        guard target.flex else {
            // Not sold by this upstream: the call goes on as it came.
            let response = try await passthrough.execute(request, at: target, body: .bytes(ByteBuffer(bytes: body)), timeout: .seconds(3600))
            return passthrough.relay(response, of: request, context: context, at: target, model: model, lane: .realtime)
        }
        let flexBody = ByteBuffer(bytes: Self.flex(body))
        let deadline = clock.now() + (rule.deadline ?? rule.hold)
        var attempt = 0
        while true {
            var retryAfter: Double?
            do {
                let response = try await passthrough.execute(request, at: target, body: .bytes(flexBody), timeout: Self.timeout)
                let status = Int(response.status.code)
                guard status == 429 || status >= 500 else {
                    return passthrough.relay(
                        response, of: request, context: context, at: target, model: model, lane: .flex,
                        headers: [PolicyDeferral.servedByHeader: ServedBy.flex.rawValue])
                }
                retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init)
                _ = try? await response.body.collect(upTo: 1 << 20)
            } catch let error as OpenAIError where error.code == "upstream_unreachable" {
                // No answer: tried again like a 5xx.
            }
            attempt += 1
            let wait = retry.delay(afterAttempt: attempt, retryAfter: retryAfter)
            guard clock.now() + wait < deadline else { break }
            try await clock.sleep(seconds: wait)
        }
        switch rule.fallback {
        case .never:
            throw OpenAIError(
                .gatewayTimeout, "The flex lane gave no answer before the rule's deadline.", type: "timeout_error", code: "flex_deadline")
        case .whenQueued, .always:
            let response = try await passthrough.execute(request, at: target, body: .bytes(ByteBuffer(bytes: body)), timeout: .seconds(3600))
            return passthrough.relay(
                response, of: request, context: context, at: target, model: model, lane: .realtime,
                headers: [PolicyDeferral.servedByHeader: ServedBy.realtimeFallback.rawValue])
        }
    }

    /// The body with `"service_tier":"flex"` (any tier the client named replaced).
    static func flex(_ body: [UInt8]) -> [UInt8] {
        guard let view = try? JSONObjectView(body) else { return body }
        let without = view.removing(["service_tier"])
        guard let brace = without.firstIndex(of: UInt8(ascii: "{")) else { return body }
        let rest = without[(brace + 1)...]
        let empty = rest.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) } == UInt8(ascii: "}")
        return Array(without[...brace]) + Array(#""service_tier":"flex""#.utf8) + (empty ? [] : Array(",".utf8)) + Array(rest)
    }
}
