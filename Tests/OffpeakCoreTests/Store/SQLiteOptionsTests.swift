import Foundation
import GRDB
import GRDBSQLite
import Testing

@testable import OffpeakSQLite

@Suite struct SQLiteOptionsTests {
    @Test func theStoresConnectionsRunWithoutAMutexOfTheirOwn() async throws {
        #expect(SQLiteStore.processOptions == SQLITE_OK)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-options-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        let writerMutex = try await store.pool.write { db in sqlite3_db_mutex(db.sqliteConnection) == nil }
        let readerMutex = try await store.pool.read { db in sqlite3_db_mutex(db.sqliteConnection) == nil }
        #expect(writerMutex && readerMutex)
        // Memory statistics are off: SQLite no longer counts what it allocates.
        #expect(sqlite3_memory_used() == 0)
    }

    /// A commit is on the disk before the caller hears of it: the writer syncs the log at each
    /// commit (`synchronous = FULL`, 2), which GRDB's WAL set-up would otherwise lower to NORMAL (1).
    @Test func everyCommitIsSynced() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-sync-\(UUID().uuidString).sqlite").path
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        let writer = try await store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(writer == 2)
        let journal = try await store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }
}
