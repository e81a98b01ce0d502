/// The operator's hand on the queues: groups paused keep accepting requests and are never
/// flushed until resumed. The state is stored, so it survives restarts and every gateway on a
/// shared store sees it. Used by the operator API; the flusher reads it through `BatchQueue`.
public protocol QueueControl: Sendable {
    /// Pauses (or resumes) these groups; pausing a paused group, or resuming one that is not,
    /// changes nothing.
    func setPaused(_ groups: [GroupKey], paused: Bool, now: Timestamp) async throws
}

/// Flushing groups on an operator's word, whatever the flush policy says (the flusher does it).
public protocol QueueFlushing: Sendable {
    func flushNow(_ groups: [GroupKey]) async throws -> [BatchRecord]
}
