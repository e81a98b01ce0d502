/// The queue side of batching: queued requests claimed into batches, their file read, the batch
/// created upstream (or given back). Used by the flusher.
public protocol BatchQueue: BatchLeases {
    /// The queued requests of each group, summed.
    func backlogs() async throws -> [GroupBacklog]
    /// The groups an operator paused (`QueueControl`): never flushed until resumed.
    func pausedGroups() async throws -> Set<GroupKey>
    /// Takes the oldest queued requests of a group (as many as the policy allows in one file) into a
    /// new batch in state `preparing`, leased to the caller, numbered 1...n in queue order. Each
    /// one's attempts grow by one. Nil when nothing is queued. Concurrent claimers (other
    /// instances) never take the same request.
    func claimBatch(id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease) async throws -> BatchRecord?
    /// `claimBatch`, telling `progress` how the file stands while the claim goes on: first what it
    /// plans to take, then each run of lines as it becomes final, so that the file can be uploaded
    /// while the rest is claimed (`EarlyUpload`). A store that claims in one step reports nothing.
    func claimBatch(
        id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease,
        progress: @escaping @Sendable (ClaimProgress) -> Void
    ) async throws -> BatchRecord?
    /// `preparing` batches nobody holds (their flusher stopped, died, or set them aside until a time
    /// now past), leased to the caller: at most `limit`, oldest first.
    func claimStalledBatches(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord]
    /// The next run of a batch's JSONL file: at most `limit` lines after line `after` (1-based), in
    /// file order, written with `BatchFileWriter`. Nil past the last line.
    func batchFile(batchID: String, after: Int, limit: Int) async throws -> BatchFileChunk?
    /// The batch's file is uploaded: a create that fails from now on may still have reached the provider.
    func recordUpload(batchID: String, inputFileID: String) async throws
    /// The batch exists upstream; its requests learn its upstream id and the poller takes it.
    func markLive(batchID: String, upstreamID: String, upstreamStatus: UpstreamBatchStatus, nextPollAt: Timestamp, now: Timestamp)
        async throws
    /// Gives up a `preparing` batch until `retryAt`, when any instance may take it again.
    func setAside(batchID: String, holder: String, retryAt: Timestamp) async throws
    /// The batch never reached the provider: its requests go back to the queue, attempts refunded.
    func abandon(batchID: String, now: Timestamp) async throws
}

extension BatchQueue {
    public func claimBatch(
        id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease,
        progress: @escaping @Sendable (ClaimProgress) -> Void
    ) async throws -> BatchRecord? {
        try await claimBatch(id: id, group: group, policy: policy, now: now, lease: lease)
    }
}

/// How a claim in progress stands, as the store reports it to `claimBatch(…progress:)`.
public enum ClaimProgress: Sendable, Equatable {
    /// What the claim will take if the queue does not change meanwhile (no request cancelled,
    /// requeued or claimed by another instance): the file's lines and bytes. Reported once,
    /// before any row is marked.
    case planned(lines: Int, bytes: Int)
    /// The file's lines `1...lines` (`bytes` in all) are final: their rows are committed to the batch.
    case committed(lines: Int, bytes: Int)
}

/// Leases on batches, shared by the flusher and the poller.
public protocol BatchLeases: Sendable {
    /// Extends a lease the caller still holds; false if it has lost it (it ran out and another
    /// instance took the batch), in which case the caller must stop working on the batch.
    func renewLease(batchID: String, lease: Lease) async throws -> Bool
}

/// Who holds a batch, and until when. A lease that runs out lets another instance take the batch
/// over: the way work held by a stopped or killed gateway is finished by the others.
public struct Lease: Sendable, Equatable {
    public var holder: String
    public var until: Timestamp

    public init(holder: String, until: Timestamp) {
        self.holder = holder
        self.until = until
    }
}
