/// How often a worker may sum the whole queue (the flusher's backlogs, the bounds' counts). A sum
/// costs in proportion to the queue: a third of a second for a million queued requests here. A
/// sum that took `cost` seconds is repeated no sooner than `factor` times that, so each watcher
/// takes at most about 1/`factor` of a core however long the queue grows.
public enum QueueWatch {
    public static let factor = 20.0

    /// Seconds until the next sum after one that took `cost`, and no fewer than `minimum`.
    public static func spacing(after cost: Double, atLeast minimum: Double) -> Double {
        max(minimum, factor * max(0, cost))
    }
}
