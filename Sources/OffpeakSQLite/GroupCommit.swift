/// Group commit for accepts: requests that arrive while a write is in progress are committed
/// together in the next transaction, one fsync for all of them, and each caller still returns only
/// once its own request is on disk. No writer task runs in the background: the caller whose turn
/// it is writes the waiting requests with its own, then hands the turn to the next waiter.
actor GroupCommit<Item: Sendable, Output: Sendable> {
    private enum Turn {
        case done(Result<Output, any Error>)
        /// Write your own item and these.
        case lead([Waiter])
    }

    private struct Waiter {
        let item: Item
        let continuation: CheckedContinuation<Turn, Never>
    }

    private let maxBatch: Int
    private let write: @Sendable ([Item]) async -> [Result<Output, any Error>]
    private var writing = false
    private var pending: [Waiter] = []

    /// `write` commits the items in one transaction and returns one result per item, in order.
    init(maxBatch: Int = 1024, write: @escaping @Sendable ([Item]) async -> [Result<Output, any Error>]) {
        self.maxBatch = maxBatch
        self.write = write
    }

    func submit(_ item: Item) async throws -> Output {
        var others: [Waiter] = []
        if writing {
            let turn = await withCheckedContinuation { pending.append(Waiter(item: item, continuation: $0)) }
            switch turn {
            case .done(let result): return try result.get()
            case .lead(let rest): others = rest
            }
        } else {
            writing = true
        }
        let results = await write([item] + others.map(\.item))
        for (waiter, result) in zip(others, results.dropFirst()) {
            waiter.continuation.resume(returning: .done(result))
        }
        if pending.isEmpty {
            writing = false
        } else {
            let next = pending.prefix(maxBatch)
            pending.removeFirst(next.count)
            next.first!.continuation.resume(returning: .lead(Array(next.dropFirst())))
        }
        return try results[0].get()
    }
}
