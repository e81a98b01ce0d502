import Dispatch
import Hummingbird
import Metrics
import NIOConcurrencyHelpers

/// Each call timed, by route template, method and status, into the histogram
/// `offpeak_http_request_duration_seconds` (whose count is the calls'): from the moment the router
/// hands the call over to the moment its answer's head is ready. A streamed answer's time is its
/// first byte's, not its last's; a call refused with an error is timed to the error, and one whose
/// task was cancelled (its client gone) is counted as 499, as proxies count a client that closed
/// its request, not as the server's failure.
///
/// Hummingbird's `MetricsMiddleware` also times the body's writing, but re-wraps every answer's
/// body to do it, which cost 15-30 µs of CPU per `/healthz` call under load (a quarter or more of
/// its throughput); this one is within the noise: one clock read each way, a look-up under a lock,
/// a bucket counted.
struct RequestMetrics<Context: RequestContext>: RouterMiddleware {
    private let timers: RequestTimers

    /// `factory` is the process's metrics system unless a test gives its own.
    init(factory: any MetricsFactory = MetricsSystem.factory) {
        timers = RequestTimers(factory: factory)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let response = try await next(request, context)
            timers.record(route: context.endpointPath, method: request.method, status: response.status.code, since: started)
            return response
        } catch {
            let status = error is CancellationError ? 499 : (error as? any HTTPResponseError)?.status.code ?? 500
            timers.record(route: context.endpointPath, method: request.method, status: status, since: started)
            throw error
        }
    }
}

/// One timer per route, method and status, made the first time it is seen.
private final class RequestTimers: Sendable {
    private struct Key: Hashable {
        let route: String
        let method: String
        let status: Int
    }
    private let made = NIOLockedValueBox<[Key: Timer]>([:])
    private let factory: any MetricsFactory

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// The methods a series is kept for; any other a client sends is counted as `other`, so that
    /// clients cannot make series without end.
    private static let methods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options]

    func record(route: String?, method: HTTPRequest.Method, status: Int, since started: UInt64) {
        // A path no route matched is one series, whatever the path (Hummingbird's router names it so).
        let key = Key(route: route ?? "NotFound", method: Self.methods.contains(method) ? method.rawValue : "other", status: status)
        let timer = made.withLockedValue { made in
            if let timer = made[key] { return timer }
            let timer = Timer(
                label: Gateway.requestDurationLabel,
                dimensions: [("route", key.route), ("method", key.method), ("status", String(key.status))],
                factory: factory)
            made[key] = timer
            return timer
        }
        timer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
    }
}

extension Gateway {
    /// The histogram every call is timed in (`RequestMetrics`), for the buckets it is given.
    public static let requestDurationLabel = "offpeak_http_request_duration_seconds"
}
