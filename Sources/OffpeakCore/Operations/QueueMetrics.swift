import Metrics
import Synchronization

/// Queue depth and the age of the oldest queued request per group, as gauges (what the console
/// shows, for Prometheus to graph). A group that empties is reported at 0, not dropped.
public final class QueueMetrics: Sendable {
    public static let shared = QueueMetrics()
    private let reported = Mutex<Set<GroupKey>>([])

    public func record(_ backlogs: [GroupBacklog], now: Timestamp) {
        let current = Set(backlogs.map(\.key))
        let gone = reported.withLock { reported in
            let gone = reported.subtracting(current)
            reported = current
            return gone
        }
        for backlog in backlogs {
            Self.depth(backlog.key).record(backlog.count)
            Self.oldest(backlog.key).record(max(0, now - backlog.oldestCreatedAt))
        }
        for key in gone {
            Self.depth(key).record(0)
            Self.oldest(key).record(0)
        }
    }

    static func labels(_ key: GroupKey) -> [(String, String)] {
        [("upstream", key.upstream), ("endpoint", key.endpoint), ("model", key.model)]
    }

    static func depth(_ key: GroupKey) -> Gauge { Gauge(label: "offpeak_queue_depth", dimensions: labels(key)) }
    static func oldest(_ key: GroupKey) -> Gauge { Gauge(label: "offpeak_queue_oldest_age_seconds", dimensions: labels(key)) }
}

/// Batches preparing or live per status (`offpeak_batches_open{status}`), as gauges; a status no
/// batch is in any more is reported at 0.
public final class BatchMetrics: Sendable {
    public static let shared = BatchMetrics()
    private let reported = Mutex<Set<String>>([])

    public func record(_ counts: [String: Int]) {
        let gone = reported.withLock { reported in
            let gone = reported.subtracting(counts.keys)
            reported = Set(counts.keys)
            return gone
        }
        for (status, count) in counts { Gauge(label: "offpeak_batches_open", dimensions: [("status", status)]).record(count) }
        for status in gone { Gauge(label: "offpeak_batches_open", dimensions: [("status", status)]).record(0) }
    }
}
