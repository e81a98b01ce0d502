import Logging
import OffpeakCore
import ServiceLifecycle

/// Keeps the queue's bounds in step with the store: reads the queued counts every second, or
/// less often when the reading itself is slow (`QueueWatch`: a million queued requests are
/// counted every few seconds).
struct QueueBoundsRefresher: Service {
    let store: any RequestStore
    let bounds: QueueBounds
    let clock: SystemClock
    let logger: Logger

    func refresh() async throws {
        try await bounds.refresh { try await store.queuedCounts(byOwner: bounds.countsPerKey) }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var backoff = FaultBackoff()
            var costs = QueueWatch.Costs()
            while !Task.isCancelled {
                let started = clock.now()
                var wait = 1.0
                do {
                    try await refresh()
                    costs.record(clock.now() - started)
                    wait = QueueWatch.spacing(after: costs.typical, atLeast: 1)
                    backoff.succeeded("the queue is counted again", logger: logger)
                } catch {
                    wait = backoff.failed(
                        error, "could not count the queue; the bounds keep their last count", level: .warning, logger: logger)
                }
                try? await clock.sleep(seconds: wait)
            }
        }
    }
}
