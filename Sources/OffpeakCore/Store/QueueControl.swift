/// The operator's hand on the queues and batches: groups paused keep accepting requests and are
/// never flushed until resumed; a live batch may be cancelled. The state is stored, so it survives
/// restarts and every gateway on a shared store sees it. Used by the operator API; the flusher
/// reads the pauses through `BatchQueue`, the poller the cancels through `LiveBatches`.
public protocol QueueControl: Sendable {
    /// Pauses (or resumes) these groups; pausing a paused group, or resuming one that is not,
    /// changes nothing.
    func setPaused(_ groups: [GroupKey], paused: Bool, now: Timestamp) async throws
    /// Records an operator's cancel of a live batch (nil takes it back, when the provider refused
    /// it). False when the batch is not live.
    func recordCancel(batchID: String, _ cancel: OperatorCancel?) async throws -> Bool
}

/// Flushing groups on an operator's word, whatever the flush policy says (the flusher does it).
public protocol QueueFlushing: Sendable {
    func flushNow(_ groups: [GroupKey]) async throws -> [BatchRecord]
}
