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

    /// What the sums cost, as the spacing should see it: the lower of the last two. A long queue
    /// makes every sum slow; one sum slowed by something else (a connection awaited while the
    /// store comes back, a machine stalled for a moment) would otherwise space the next look by
    /// twenty times that wait, minutes in which accepted requests are not looked at.
    public struct Costs: Sendable {
        private var last = 0.0
        private var previous = 0.0

        public init() {}

        public mutating func record(_ cost: Double) {
            previous = last
            last = max(0, cost)
        }

        /// The cost the next spacing follows.
        public var typical: Double { min(last, previous) }
    }
}
