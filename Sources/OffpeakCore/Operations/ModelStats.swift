/// Per model, how deferred requests fared (`GET /admin/v1/stats`): those that
/// ended in the period, how long they took from acceptance to their end, and what waits now.
public struct ModelStats: Sendable, Equatable {
    public var model: String
    public var requests = 0
    public var completed = 0
    public var failed = 0
    public var averageSeconds: Double?
    public var p50Seconds: Double?
    public var p95Seconds: Double?
    public var queuedNow = 0
    public var inBatchesNow = 0

    public init(model: String) {
        self.model = model
    }

    public var failureRate: Double { requests == 0 ? 0 : Double(failed) / Double(requests) }

    /// The 0-based position of the `fraction` percentile among `count` sorted values (nearest rank).
    public static func rank(_ fraction: Double, of count: Int) -> Int {
        max(0, Int((fraction * Double(count)).rounded(.up)) - 1)
    }

    /// Stats computed directly from requests (the in-memory store; the reference for the SQL ones).
    public static func of(_ requests: some Sequence<DeferredRequest>, from: Timestamp, to: Timestamp) -> [ModelStats] {
        var stats: [String: ModelStats] = [:]
        var durations: [String: [Double]] = [:]
        for request in requests {
            var entry = stats[request.model] ?? ModelStats(model: request.model)
            switch request.status {
            case .queued: entry.queuedNow += 1
            case .submitted: entry.inBatchesNow += 1
            case .completed, .failed:
                guard let end = request.completedAt, (from..<to).contains(end) else { break }
                entry.requests += 1
                if request.status == .completed { entry.completed += 1 } else { entry.failed += 1 }
                durations[request.model, default: []].append(end - request.createdAt)
            case .cancelled: break
            }
            stats[request.model] = entry
        }
        for (model, values) in durations {
            let sorted = values.sorted()
            stats[model]?.averageSeconds = sorted.reduce(0, +) / Double(sorted.count)
            stats[model]?.p50Seconds = sorted[rank(0.5, of: sorted.count)]
            stats[model]?.p95Seconds = sorted[rank(0.95, of: sorted.count)]
        }
        return stats.values.filter { $0.requests + $0.queuedNow + $0.inBatchesNow > 0 }.sorted { $0.model < $1.model }
    }

    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("model", model)
        writer.field("requests", requests)
        writer.field("completed", completed)
        writer.field("failed", failed)
        writer.key("failure_rate")
        writer.raw(Array(Self.number(failureRate).utf8))
        writer.key("seconds_to_result")
        writer.beginObject()
        for (name, value) in [("avg", averageSeconds), ("p50", p50Seconds), ("p95", p95Seconds)] {
            writer.key(name)
            if let value { writer.raw(Array(Self.number(value).utf8)) } else { writer.null() }
        }
        writer.endObject()
        writer.field("queued_now", queuedNow)
        writer.field("in_batches_now", inBatchesNow)
        writer.endObject()
    }

    /// Three decimals, no trailing zeros.
    static func number(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}

/// The stats' statements, the same in both SQL stores.
public enum StatsSQL {
    static let ended = "status IN ('completed', 'failed')"

    /// Per model: ended in the period, completed, average seconds to result; `?`-style markers
    /// from `placeholder` for `from` and `to`.
    public static func totals(placeholder: (Int) -> String) -> String {
        """
        SELECT model, COUNT(*) AS requests, SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
            AVG(completed_at - created_at) AS average
        FROM deferred_requests WHERE \(ended) AND completed_at >= \(placeholder(1)) AND completed_at < \(placeholder(2))
        GROUP BY model
        """
    }

    /// One model's seconds to result at a rank: markers for `model`, `from`, `to`, the offset.
    public static func atRank(placeholder: (Int) -> String) -> String {
        """
        SELECT completed_at - created_at AS seconds FROM deferred_requests
        WHERE model = \(placeholder(1)) AND \(ended) AND completed_at >= \(placeholder(2)) AND completed_at < \(placeholder(3))
        ORDER BY 1 LIMIT 1 OFFSET \(placeholder(4))
        """
    }

    /// Per model, the requests queued and in batches now.
    public static let waiting = """
        SELECT model, SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) AS queued,
            SUM(CASE WHEN status = 'submitted' THEN 1 ELSE 0 END) AS submitted
        FROM deferred_requests WHERE status IN ('queued', 'submitted') GROUP BY model
        """

    /// Assembles the stats from the three statements' answers.
    public static func assemble(
        totals: [(model: String, requests: Int, completed: Int, average: Double?)], waiting: [(model: String, queued: Int, submitted: Int)],
        percentile: (String, Int) async throws -> Double?
    ) async throws -> [ModelStats] {
        var stats: [String: ModelStats] = [:]
        for row in totals {
            var entry = ModelStats(model: row.model)
            entry.requests = row.requests
            entry.completed = row.completed
            entry.failed = row.requests - row.completed
            entry.averageSeconds = row.average
            entry.p50Seconds = try await percentile(row.model, ModelStats.rank(0.5, of: row.requests))
            entry.p95Seconds = try await percentile(row.model, ModelStats.rank(0.95, of: row.requests))
            stats[row.model] = entry
        }
        for row in waiting {
            stats[row.model, default: ModelStats(model: row.model)].queuedNow = row.queued
            stats[row.model, default: ModelStats(model: row.model)].inBatchesNow = row.submitted
        }
        return stats.values.sorted { $0.model < $1.model }
    }
}
