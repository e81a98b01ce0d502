import Foundation
import Logging

/// Holds batch leases for one worker: names the holder, and keeps a lease alive while the worker
/// is busy with its batch, so that a long upload or collection is not taken over by another
/// instance, while a batch held by an instance that died is taken over once its lease runs out.
public struct LeaseKeeper<Clock: WorkerClock>: Sendable {
    /// This worker's name in the store's `lease_holder`: host, process id, role and a random
    /// suffix, so that an operator can tell which gateway holds what.
    public let holder: String
    /// How long a lease lasts without renewal.
    public let duration: Double
    let store: any BatchLeases
    let clock: Clock
    let logger: Logger

    public init(store: any BatchLeases, clock: Clock, duration: Double, role: String, logger: Logger) {
        let process = ProcessInfo.processInfo
        self.holder = "\(process.hostName)/\(process.processIdentifier)/\(role)/\(Identifier.make(prefix: "", length: 6))"
        self.duration = duration
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    /// A lease from now.
    public func fresh() -> Lease {
        Lease(holder: holder, until: clock.now() + duration)
    }

    /// Extends the lease now; false if another instance holds the batch.
    public func renew(_ batchID: String) async throws -> Bool {
        try await store.renewLease(batchID: batchID, lease: fresh())
    }

    /// Runs `work`, renewing the batch's lease every third of its duration. If the lease is lost,
    /// `work` is cancelled and nil returned: another instance has the batch now.
    public func whileHolding<T: Sendable>(_ batchID: String, _ work: @escaping @Sendable () async -> T) async -> T? {
        await withTaskGroup(of: LeaseRace<T>?.self) { group in
            group.addTask { .work(await work()) }
            group.addTask {
                while !Task.isCancelled {
                    try? await clock.sleep(seconds: duration / 3)
                    guard !Task.isCancelled else { return nil }
                    do {
                        if try await renew(batchID) == false { return .lost }
                    } catch {
                        // The store is unreachable: the lease may run out, and the next renewal tells.
                        logger.warning("could not renew a batch lease", metadata: ["batch": "\(batchID)", "error": "\(error)"])
                    }
                }
                return nil
            }
            while let finished = await group.next() {
                switch finished {
                case .work(let value):
                    group.cancelAll()
                    return value
                case .lost:
                    logger.warning("lease lost: another instance has taken the batch over", metadata: ["batch": "\(batchID)"])
                    group.cancelAll()
                    return nil
                case nil:
                    continue
                }
            }
            return nil
        }
    }
}

/// Which finished first: the work, or the discovery that the lease is gone.
enum LeaseRace<T: Sendable>: Sendable {
    case work(T)
    case lost
}
