import Foundation
import GRDB
import OffpeakCore
@testable import OffpeakSQLite
import Testing

/// A database written by an earlier version opens with everything it held.
@Suite struct SQLiteMigrationTests {
    @Test func bodiesMoveToTheirOwnTablesWithNothingLost() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-migrate-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        do {
            let old = try DatabaseQueue(path: path)
            try SQLiteMigrations.migrator.migrate(old, upTo: "v5: how each request was served")
            try await old.write { db in
                for (seq, status) in [(1, "queued"), (2, "completed")] {
                    try db.execute(
                        sql: """
                            INSERT INTO deferred_requests (seq, id, owner, endpoint, model, status, created_at, body_digest,
                                body_bytes, line_bytes, body, response_status, response_body, batch_id, batch_line)
                            VALUES (?, ?, 'o', '/v1/chat/completions', 'm', ?, 1, 'd', 13, 100, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            seq, "dfr_\(seq)", status, Data(#"{"model":"m"}"#.utf8), seq == 2 ? 200 : nil,
                            seq == 2 ? Data(#"{"id":"answer"}"#.utf8) : nil, seq == 1 ? "bat_1" : nil, seq == 1 ? 1 : nil,
                        ])
                }
            }
        }
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        #expect(try await store.request(id: "dfr_2", owner: "o")?.response?.body == Array(#"{"id":"answer"}"#.utf8))
        #expect(try await store.request(id: "dfr_1", owner: "o")?.response == nil)
        #expect(try await store.batchLines(batchID: "bat_1").lines.map(\.body) == [Array(#"{"model":"m"}"#.utf8)])
    }

    /// v15 makes the purge's index again with its condition as `PurgeSQL.ended` writes it: a
    /// database from before finds the same rows through it.
    @Test func thePurgesIndexIsMadeAgainAndStillRead() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-migrate-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        do {
            let old = try DatabaseQueue(path: path)
            try SQLiteMigrations.migrator.migrate(old, upTo: "v14: retention")
            try await old.write { db in
                for (seq, status, purgedAt) in [(1, "completed", nil), (2, "cancelled", nil), (3, "failed", 5.0), (4, "submitted", nil)] {
                    try db.execute(
                        sql: """
                            INSERT INTO deferred_requests (seq, id, owner, endpoint, model, status, created_at, completed_at,
                                body_digest, body_bytes, line_bytes, purged_at)
                            VALUES (?, ?, 'o', '/v1/chat/completions', 'm', ?, 1, ?, 'd', 13, 100, ?)
                            """,
                        arguments: [seq, "dfr_\(seq)", status, Double(seq), purgedAt])
                }
            }
        }
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        let (due, plan) = try await store.pool.read { db in
            let due = try Int64.fetchAll(db, sql: PurgeSQL.due { _ in "?" }, arguments: [10, 10])
            let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(PurgeSQL.due { _ in "?" })", arguments: [10, 10])
                .map { $0["detail"] as String }
            return (due, plan)
        }
        #expect(due == [1, 2])
        #expect(plan.contains { $0.contains("USING INDEX deferred_purgeable") })
    }
}

/// SQLite evaluates each partial index's condition for every row written, and makes a temporary
/// b-tree for an `IN` list of three or more values each time a statement runs: no condition on a
/// table written per request may have one (`PurgeSQL.ended`).
@Suite struct SQLiteIndexConditionTests {
    @Test func noIndexConditionHasAnInListOfThreeOrMore() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-indexes-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        let indexes = try await store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
                .map { (name: $0["name"] as String, sql: $0["sql"] as String) }
        }
        #expect(indexes.contains { $0.name == "deferred_purgeable" })
        let long = indexes.filter { index in
            guard let condition = index.sql.range(of: " WHERE ", options: .caseInsensitive) else { return false }
            return index.sql[condition.upperBound...].ranges(of: /(?i)\bIN\s*\(([^)]*)\)/).contains { range in
                index.sql[range].filter { $0 == "," }.count >= 2
            }
        }
        #expect(long.map(\.name) == [])
    }
}
