import Logging
import OffpeakCore
import ServiceLifecycle

/// Retention (`OFFPEAK_RETENTION`): deletes the bodies of requests that ended longer ago, a few
/// hundred at a time (each a short transaction, so intake never waits long for the writer),
/// every minute (or a tenth of the retention, when that is shorter).
struct RetentionPurger: Service {
    let store: any RequestStore
    let retention: Double
    let clock: SystemClock
    let logger: Logger

    static let chunk = 500

    /// Purges everything due now; returns how many requests.
    @discardableResult
    func purgeDue() async throws -> Int {
        var total = 0
        while !Task.isCancelled {
            let now = clock.now()
            let purged = try await store.purgeBodies(endedBefore: now - retention, limit: Self.chunk, now: now)
            total += purged
            if purged < Self.chunk { break }
            await Task.yield()
        }
        if total > 0 { logger.info("purged the bodies of ended requests", metadata: ["requests": "\(total)"]) }
        return total
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var backoff = FaultBackoff(baseDelay: 1, maxDelay: 300)
            while !Task.isCancelled {
                var wait = min(60, max(0.5, retention / 10))
                do {
                    try await purgeDue()
                    backoff.succeeded("purges succeed again", logger: logger)
                } catch {
                    wait = max(wait, backoff.failed(error, "purge failed; will try again", level: .warning, logger: logger))
                }
                try? await clock.sleep(seconds: wait)
            }
        }
    }
}
