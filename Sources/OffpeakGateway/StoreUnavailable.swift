import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OffpeakCore
import Synchronization

/// The gateway's answers while the store cannot write: deferred calls get 503 `store_unavailable`
/// with `Retry-After` (nothing stored), `/readyz` says why, and any other route whose store call
/// meets a fault answers the same 503 rather than a bare 500. Reads and passthrough go on where
/// the store still answers them.
struct StoreUnavailable: Sendable {
    let store: any DeferredStore
    let health: StoreHealth
    let clock: SystemClock
    let logger: Logger

    /// Seconds a client is asked to wait before calling again.
    static let retryAfter = 5

    /// The 503 for a deferred call (or another write) that `fault` stopped.
    static func error(_ fault: StoreFault) -> OpenAIError {
        var error = OpenAIError(
            .serviceUnavailable, "The gateway cannot store requests right now (\(fault.summary)); nothing was stored. Try again later.",
            type: "server_error", code: "store_unavailable")
        error.headers[.retryAfter] = String(retryAfter)
        return error
    }

    /// A write of intake failed with `error`: remembered for `/readyz`, logged, answered 503.
    func failed(_ error: any Error) -> OpenAIError {
        let fault = store.faultOrFailure(error)
        if health.current(now: clock.now()) == nil {
            logger.error("the store cannot take writes; deferred calls are answered 503", metadata: ["fault": "\(fault)"])
        }
        health.failed(fault, now: clock.now())
        return Self.error(fault)
    }

    /// A write of intake succeeded.
    func succeeded() {
        if health.succeeded() { logger.notice("the store takes writes again") }
    }
}

/// `/readyz`: ready when the store takes a small write (checked at most once a second) and intake
/// has not just failed to write; otherwise 503 naming the fault.
final class Readiness: Sendable {
    private let unavailable: StoreUnavailable
    private let lastProbe = Mutex<(at: Timestamp, fault: StoreFault?)?>(nil)

    init(_ unavailable: StoreUnavailable) {
        self.unavailable = unavailable
    }

    static let probeKey = "offpeak.readiness"
    static let probeDeadline = 3.0

    func respond() async -> Response {
        let now = unavailable.clock.now()
        let fault = await probe(now: now) ?? unavailable.health.current(now: now)?.fault
        guard let fault else { return JSONResponse.make(Array(#"{"status":"ready"}"#.utf8)) }
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("status", "store_unavailable")
        writer.field("reason", fault.kind.rawValue)
        writer.field("message", fault.summary)
        writer.field("since", unavailable.health.current(now: now).map { Int($0.since) })
        writer.endObject()
        return JSONResponse.make(writer.bytes, status: .serviceUnavailable, headers: [.retryAfter: String(StoreUnavailable.retryAfter)])
    }

    /// The fault a small write meets now, if any (the last answer, when it is under a second old).
    private func probe(now: Timestamp) async -> StoreFault? {
        if let last = lastProbe.withLock({ $0 }), now - last.at < 1 { return last.fault }
        let store = unavailable.store
        let fault: StoreFault?
        do {
            let late = StoreFault(.unreachable, "no answer within \(Self.probeDeadline) s")
            _ = try await withDeadline(seconds: Self.probeDeadline, expired: { late }) {
                try await store.putValue("ok", forKey: Self.probeKey, expiresAt: now + 3600, onlyIfAbsent: false, now: now)
            }
            fault = nil
        } catch {
            fault = store.faultOrFailure(error)
        }
        lastProbe.withLock { $0 = (now, fault) }
        return fault
    }
}

/// Turns a store fault met by any route into the 503 `store_unavailable` (other errors pass).
struct StoreFaultMiddleware<Context: RequestContext>: RouterMiddleware {
    let store: any DeferredStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            guard let fault = store.fault(error) else { throw error }
            throw StoreUnavailable.error(fault)
        }
    }
}
