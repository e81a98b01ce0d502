import Synchronization

/// How many requests wait in the queue, in all and per client key (as the store counts them).
public struct QueuedCounts: Sendable, Equatable {
    public var total: Int
    /// Per owner (client key hash); empty when not asked for.
    public var byOwner: [String: Int]

    public init(total: Int = 0, byOwner: [String: Int] = [:]) {
        self.total = total
        self.byOwner = byOwner
    }
}

/// The bounds on the queue (`OFFPEAK_MAX_QUEUED`, `OFFPEAK_MAX_QUEUED_PER_KEY`), checked on the
/// accept path without reading the store: the counts the store gave at the last refresh, plus what
/// this gateway has committed since, plus what it is committing now. A slot is reserved before a
/// request is committed, so concurrent accepts never pass a bound together; a refresh never
/// forgets a commit it may not have seen (it may count one twice until the next refresh, which
/// errs on the side of refusing). Requests that leave the queue (flushed, cancelled) free their
/// slots at the next refresh. Several gateways on one store each see the others' requests at
/// their refresh: the bound holds to within what the others accept in one refresh interval.
public final class QueueBounds: Sendable {
    public struct Limits: Sendable, Equatable {
        public var maxQueued: Int
        /// 0: no bound per key.
        public var maxQueuedPerKey: Int

        public init(maxQueued: Int = 1_000_000, maxQueuedPerKey: Int = 0) {
            self.maxQueued = maxQueued
            self.maxQueuedPerKey = maxQueuedPerKey
        }
    }

    public enum Refusal: Error, Sendable, Equatable {
        case total(limit: Int)
        case perKey(limit: Int)
    }

    /// A slot held while a request is being committed.
    public struct Reservation: Sendable {
        let owner: String
    }

    private struct State {
        var stored = QueuedCounts()
        /// Committed here since the refresh under way (or the last one) began.
        var committed = QueuedCounts()
        /// Reserved and not yet committed or given back.
        var pending = QueuedCounts()
    }

    public let limits: Limits
    private let state = Mutex(State())

    public init(limits: Limits) {
        self.limits = limits
    }

    public var countsPerKey: Bool { limits.maxQueuedPerKey > 0 }

    /// Reserves a slot for a request of `owner`, or refuses when a bound is reached.
    public func reserve(owner: String) throws(Refusal) -> Reservation {
        let refusal: Refusal? = state.withLock { state in
            let total = state.stored.total + state.committed.total + state.pending.total
            if total >= limits.maxQueued { return .total(limit: limits.maxQueued) }
            if countsPerKey {
                let mine = state.stored.byOwner[owner, default: 0] + state.committed.byOwner[owner, default: 0]
                    + state.pending.byOwner[owner, default: 0]
                if mine >= limits.maxQueuedPerKey { return .perKey(limit: limits.maxQueuedPerKey) }
            }
            state.pending.total += 1
            if countsPerKey { state.pending.byOwner[owner, default: 0] += 1 }
            return nil
        }
        if let refusal { throw refusal }
        return Reservation(owner: owner)
    }

    /// Ends a reservation: the request was stored as a new one (`created`), or not.
    public func finish(_ reservation: Reservation, created: Bool) {
        state.withLock { state in
            state.pending.total -= 1
            if countsPerKey { state.pending.byOwner[reservation.owner, default: 0] -= 1 }
            guard created else { return }
            state.committed.total += 1
            if countsPerKey { state.committed.byOwner[reservation.owner, default: 0] += 1 }
        }
    }

    /// Replaces the stored counts with a fresh reading, taken by `read` after this call began.
    /// What was committed before the reading began is in it; what was committed during it is kept.
    public func refresh(_ read: () async throws -> QueuedCounts) async throws {
        let before = state.withLock { $0.committed }
        let counts = try await read()
        state.withLock { state in
            state.stored = counts
            state.committed.total -= before.total
            for (owner, count) in before.byOwner {
                state.committed.byOwner[owner, default: 0] -= count
                if state.committed.byOwner[owner] == 0 { state.committed.byOwner[owner] = nil }
            }
        }
    }
}
