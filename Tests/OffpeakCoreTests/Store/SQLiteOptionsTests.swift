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
}
