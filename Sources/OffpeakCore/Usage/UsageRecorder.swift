import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Writes the usage records of passthrough calls to the ledger in groups, off the calls' path: a
/// call's answer never waits on the store. Records wait in memory for the next write (a tenth of a
/// second after the first of a group arrives); a failed write is retried. At shutdown, after the server has
/// stopped, what is left is written. What a crash leaves unwritten is lost: passthrough calls are
/// counted as well as the gateway can without slowing them, deferred requests exactly.
public final class UsageRecorder: Service, Sendable {
    public struct Configuration: Sendable {
        /// Records kept waiting at most; beyond, new ones are dropped and counted.
        public var capacity: Int
        /// Records per write.
        public var batch: Int
        /// After a failed write.
        public var retryDelay: Double
        /// How long the first record of a group waits for others: one commit (and one fsync) for
        /// all the calls of that time, not one each.
        public var linger: Double

        public init(capacity: Int = 100_000, batch: Int = 1_000, retryDelay: Double = 1, linger: Double = 0.1) {
            self.capacity = capacity
            self.batch = batch
            self.retryDelay = retryDelay
            self.linger = linger
        }
    }

    private let store: any UsageLedger
    private let configuration: Configuration
    private let clock: any WorkerClock
    private let logger: Logger
    private let pending = Mutex<[UsageRecord]>([])
    private let doorbell = Doorbell()
    static let dropped = Counter(label: "offpeak_usage_records_dropped_total")

    public init(store: any UsageLedger, configuration: Configuration = .init(), clock: any WorkerClock, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
    }

    public func record(_ record: UsageRecord) {
        let kept = pending.withLock { pending in
            guard pending.count < configuration.capacity else { return false }
            pending.append(record)
            return true
        }
        if kept { doorbell.ring() } else { Self.dropped.increment() }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.doorbell.wait(seconds: 60, clock: self.clock)
                try? await self.clock.sleep(seconds: self.configuration.linger)
                if await !self.writePending(), !Task.isCancelled {
                    try? await self.clock.sleep(seconds: self.configuration.retryDelay)
                }
            }
        }
        await writePending()
    }

    /// Writes what waits, a group at a time; false when a write failed (its records wait again).
    @discardableResult
    func writePending() async -> Bool {
        while true {
            let group = pending.withLock { pending in
                let group = Array(pending.prefix(configuration.batch))
                pending.removeFirst(group.count)
                return group
            }
            guard !group.isEmpty else { return true }
            do {
                try await store.record(group)
            } catch {
                logger.error("could not write usage records; will retry", metadata: ["records": "\(group.count)", "error": "\(error)"])
                pending.withLock { $0.insert(contentsOf: group, at: 0) }
                return false
            }
        }
    }
}
