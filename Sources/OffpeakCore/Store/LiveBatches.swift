/// Batches that exist upstream: polled until they end, then each request settled. Used by the poller.
public protocol LiveBatches: BatchLeases {
    /// The earliest time a live batch is due to be polled.
    func nextPollAt() async throws -> Timestamp?
    /// How many batches are preparing or live, by the batch object's status (for the gauges).
    func openBatchCounts() async throws -> [String: Int]
    /// Live batches due for a poll that nobody holds, leased to the caller: at most `limit`, most
    /// overdue first. `recordPoll` and `endBatch` give the lease up.
    func claimDuePolls(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord]
    /// What a poll learnt (its nil fields keep what is known), and when to poll again.
    func recordPoll(batchID: String, progress: BatchProgress, nextPollAt: Timestamp) async throws
    /// Whether an operator cancelled this batch, read as its outcome is applied.
    func operatorCancel(batchID: String) async throws -> OperatorCancel?
    /// The requests still waiting on this batch, by id.
    func pendingMembers(batchID: String) async throws -> [String: BatchMember]
    /// Applies settlements to requests still waiting on this batch (`submitted` in it); others are
    /// left alone, so that applying the same file twice (after a crash) changes nothing. Returns
    /// the ids of the requests that it finished.
    func settle(batchID: String, _ settlements: [(id: String, settlement: Settlement)], now: Timestamp) async throws -> Set<String>
    /// Every request's outcome is applied: the batch is over. Its counts become what was settled:
    /// the requests that completed and failed in it (`progress.counts` is not kept).
    func endBatch(batchID: String, progress: BatchProgress, now: Timestamp) async throws
}

/// A request waiting on a batch, with what deciding its outcome needs.
public struct BatchMember: Sendable, Equatable {
    public var line: Int
    /// Batches it has been placed in, this one included.
    public var attempts: Int
    public var hasCallback: Bool
    /// Set when it was already answered from real time (a policy's `always` fallback).
    public var servedBy: ServedBy?

    public init(line: Int, attempts: Int, hasCallback: Bool = false, servedBy: ServedBy? = nil) {
        self.line = line
        self.attempts = attempts
        self.hasCallback = hasCallback
        self.servedBy = servedBy
    }
}
