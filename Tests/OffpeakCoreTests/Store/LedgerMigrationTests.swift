import Foundation
import GRDB
import OffpeakCore
@testable import OffpeakSQLite
import Testing

/// A database from before the ledger: the requests that had already ended become its first
/// records when it is migrated, with their totals.
@Suite struct LedgerMigrationTests {
    @Test func requestsEndedBeforeTheLedgerAreItsFirstRecords() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-ledger-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteStore(path: path)
        try SQLiteMigrations.migrator.migrate(store.pool, upTo: "v7: token details and cost")
        for (id, status, billed) in [("dfr_a", "completed", 1_500_000), ("dfr_b", "failed", 0), ("dfr_c", "queued", 0)] {
            try await store.pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO deferred_requests (id, owner, endpoint, model, status, created_at, completed_at, body_digest,
                            body_bytes, line_bytes, prompt_tokens, completion_tokens, cost_lane, cost_currency, cost_priced, cost_billed,
                            cost_list)
                        VALUES (?, 'o', '/v1/chat/completions', 'qwen-plus', ?, 100, 3600.5, 'd', 2, 80, 10, 5, 'batch', 'USD', 1, ?, ?)
                        """, arguments: [id, status, billed, billed * 2])
            }
        }
        try await store.migrate()
        let query = UsageQuery(from: 0, to: 10_000, groupBy: [.lane])
        let report = UsageReport(query: query, currency: "USD", tallies: try await store.usageTallies(query))
        #expect(report.rows.map(\.group.lane) == ["batch"])
        #expect(report.totals.requests == 2 && report.totals.completed == 1)
        #expect(report.totals.billed == Decimal(string: "0.0000015")! && report.totals.atListPrice == Decimal(string: "0.000003")!)
        // Read from the hourly totals (a whole hour), then from the records (part of one): the same.
        let hour = UsageReport(query: UsageQuery(from: 3_600, to: 7_200), currency: "USD", tallies: try await store.usageTallies(UsageQuery(from: 3_600, to: 7_200)))
        let edge = UsageReport(query: UsageQuery(from: 3_600, to: 3_601), currency: "USD", tallies: try await store.usageTallies(UsageQuery(from: 3_600, to: 3_601)))
        #expect(hour.totals == edge.totals && hour.totals.requests == 2)
    }
}
