import Foundation
import GRDB
import OffpeakCore
import OffpeakSQLite

/// The usage report over 1,000,000 records on SQLite: the last 30 days grouped by day, model and
/// lane, as the store answers it (daily and hourly totals, records only at the period's ends),
/// against the same sums taken by a `GROUP BY` over the records themselves.
enum UsageReportStage {
    struct Figures {
        var reportSeconds: Double
        var keyReportSeconds: Double
        var recordsScanSeconds: Double
        var loadSeconds: Double
    }

    static let count = 1_000_000
    static let models = ["qwen-plus", "qwen-max", "qwen-turbo", "qwen-flash", "text-embedding-v4", "deepseek-v3", "qwen3-coder", "kimi-k2"]

    static func run() async throws -> Figures {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("offpeak.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()

        // A month of traffic: 20 keys, 8 models, both lanes, calls spread over 30 days up to now.
        let now = Int64(Date().timeIntervalSince1970)
        let owners = (0..<20).map { String(format: "%032x", $0 * 7_919) }
        var random = SystemRandomNumberGenerator()
        let loadStart = ContinuousClock.now
        for start in stride(from: 0, to: count, by: 10_000) {
            var records: [UsageRecord] = []
            records.reserveCapacity(10_000)
            for index in start..<min(start + 10_000, count) {
                let model = models[index % models.count]
                let lane: Lane = index % 4 == 0 ? .realtime : .batch
                let usage = TokenUsage(
                    promptTokens: Int.random(in: 10...4_000, using: &random), completionTokens: Int.random(in: 1...2_000, using: &random),
                    cachedTokens: Int.random(in: 0...10, using: &random))
                records.append(
                    UsageRecord(
                        requestID: "call_\(index)", lane: lane, owner: owners[index % owners.count], model: model,
                        endpoint: "/v1/chat/completions", endedAt: now - Int64.random(in: 0..<(30 * 86_400), using: &random),
                        completed: index % 50 != 0, usage: usage,
                        cost: Cost(usage: usage, model: model, lane: lane, completed: index % 50 != 0, prices: .shipped)))
            }
            try await store.record(records)
        }
        let loadSeconds = Measure.seconds(since: loadStart)

        let query = UsageQuery(from: now + 1 - UsageQuery.defaultPeriod, to: now + 1, groupBy: [.day, .model, .lane])
        let keyQuery = UsageQuery(from: query.from, to: query.to, groupBy: [.model], owner: owners[3])
        var reports: [Double] = []
        var keyReports: [Double] = []
        var reportTotal = 0
        for _ in 0..<15 {
            let started = ContinuousClock.now
            let report = UsageReport(query: query, currency: "USD", tallies: try await store.usageTallies(query))
            reports.append(Measure.seconds(since: started))
            reportTotal = report.totals.requests
            let keyStarted = ContinuousClock.now
            _ = UsageReport(query: keyQuery, currency: "USD", tallies: try await store.usageTallies(keyQuery))
            keyReports.append(Measure.seconds(since: keyStarted))
        }
        guard reportTotal == count else { throw BenchFailure("the report counted \(reportTotal) of \(count) records") }

        // The baseline: the same sums straight from the records.
        let queue = try DatabaseQueue(path: path)
        var scans: [Double] = []
        for _ in 0..<3 {
            let started = ContinuousClock.now
            let rows = try queue.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT ended_at / 86400 AS day, model, lane, currency, COUNT(*), SUM(completed), SUM(prompt_tokens),
                            SUM(completion_tokens), SUM(cached_tokens), SUM(reasoning_tokens), SUM(billed_picos / 1000000),
                            SUM(billed_picos % 1000000), SUM(list_picos / 1000000), SUM(list_picos % 1000000), SUM(1 - priced)
                        FROM usage_records WHERE ended_at >= ? AND ended_at < ? GROUP BY 1, 2, 3, 4
                        """, arguments: [query.from, query.to])
            }
            scans.append(Measure.seconds(since: started))
            guard !rows.isEmpty else { throw BenchFailure("the baseline found no records") }
        }
        try queue.close()
        return Figures(
            reportSeconds: Measure.median(reports), keyReportSeconds: Measure.median(keyReports),
            recordsScanSeconds: Measure.median(scans), loadSeconds: loadSeconds)
    }

}
