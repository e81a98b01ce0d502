import Synchronization

/// Group commit for accepts: requests that arrive while a write is in flight are committed together
/// in the next one, one transaction and one fsync for all of them, and each caller returns only once
/// its own request is committed. Up to `writers` groups are in flight at once (both stores use
/// one: SQLite has a single writer, and on PostgreSQL larger groups cost the server less than
/// overlapping smaller ones saves).
public final class GroupCommit<Item: Sendable, Output: Sendable>: Sendable {
    public typealias Write = @Sendable ([Item]) async -> [Result<Output, any Error>]

    private struct Waiter: Sendable {
        let item: Item
        let continuation: CheckedContinuation<Output, any Error>
    }

    private struct State: Sendable {
        var pending: [Waiter] = []
        var writing = 0
    }

    private let state = Mutex(State())
    private let maxBatch: Int
    private let writers: Int
    private let write: Write

    /// `write` commits the items in one transaction and returns one result per item, in order.
    public init(maxBatch: Int = 512, writers: Int = 1, write: @escaping Write) {
        self.maxBatch = maxBatch
        self.writers = writers
        self.write = write
    }

    public func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state in
                state.pending.append(Waiter(item: item, continuation: continuation))
                guard state.writing < writers else { return false }
                state.writing += 1
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    /// Writes groups until nothing is waiting.
    private func drain() async {
        while true {
            let group = state.withLock { state in
                let group = Array(state.pending.prefix(maxBatch))
                state.pending.removeFirst(group.count)
                if group.isEmpty { state.writing -= 1 }
                return group
            }
            guard !group.isEmpty else { return }
            let results = await write(group.map(\.item))
            for (waiter, result) in zip(group, results) {
                waiter.continuation.resume(with: result)
            }
        }
    }
}
