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
}
