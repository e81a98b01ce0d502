import Synchronization

/// Group commit for accepts: requests that arrive while a write is in progress are committed
/// together in the next transaction, one fsync for all of them, and each caller still returns only
/// once its own request is on disk.
///
/// The groups are written by a drain that runs where writes belong (the database's writer): it
/// takes whatever is waiting, writes it, resumes those callers and goes straight on to the next
/// group, without going back through the task pool in between. After `roundsPerTurn` groups it
/// schedules itself again, so that other writers (the flusher, the poller) get their turn.
final class GroupCommit<Context, Item: Sendable, Output: Sendable>: Sendable {
    typealias Write = @Sendable (Context, [Item]) -> [Result<Output, any Error>]
    typealias Schedule = @Sendable (@escaping @Sendable (Context) -> Void) -> Void

    private struct Waiter: Sendable {
        let item: Item
        let continuation: CheckedContinuation<Output, any Error>
    }

    private struct State: Sendable {
        var pending: [Waiter] = []
        var draining = false
    }

    private let state = Mutex(State())
    private let maxBatch: Int
    private let roundsPerTurn: Int
    private let schedule: Schedule
    private let write: Write

    /// `schedule` runs a drain on the writer; `write` commits the items in one transaction and
    /// returns one result per item, in order.
    init(maxBatch: Int = 1024, roundsPerTurn: Int = 8, schedule: @escaping Schedule, write: @escaping Write) {
        self.maxBatch = maxBatch
        self.roundsPerTurn = roundsPerTurn
        self.schedule = schedule
        self.write = write
    }

    func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state in
                state.pending.append(Waiter(item: item, continuation: continuation))
                defer { state.draining = true }
                return !state.draining
            }
            if start { schedule { self.drain($0) } }
        }
    }

    private func drain(_ context: Context) {
        for _ in 0..<roundsPerTurn {
            let group = state.withLock { state in
                let group = Array(state.pending.prefix(maxBatch))
                state.pending.removeFirst(group.count)
                if group.isEmpty { state.draining = false }
                return group
            }
            guard !group.isEmpty else { return }
            let results = write(context, group.map(\.item))
            for (waiter, result) in zip(group, results) {
                waiter.continuation.resume(with: result)
            }
        }
        schedule { self.drain($0) }
    }
}
