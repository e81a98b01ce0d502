import GRDB
import OffpeakCore
import OffpeakTestSupport
import Testing

@testable import OffpeakSQLite

/// The SQLite store names a file that refuses writes as a store fault, stores nothing of the
/// refused group, and takes writes again once the file does, without being reopened. (A full disk
/// is exercised end to end on a tmpfs, `StoreFaultTests`.)
@Suite struct SQLiteFaultTests {
    @Test func aFileThatRefusesWritesIsAReadOnlyFaultAndRecovers() async throws {
        try await StoreHarness.with(.sqlite) { stores in
            try await Self.refuseAndRecover(try #require(stores.first as? SQLiteStore))
        }
    }

    static func refuseAndRecover(_ store: SQLiteStore) async throws {
        try await store.acceptChat(id: "req_before", content: "before", at: 1)

        // The writer's connection refuses writes as SQLite does for a read-only file (SQLITE_READONLY);
        // as root, file permissions would not stop it.
        try await store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = ON") }
        let refused = await #expect(throws: (any Error).self) {
            try await store.acceptChat(id: "req_refused", content: "refused", at: 2)
        }
        let fault = try #require(refused.flatMap { store.fault($0) })
        #expect(fault.kind == .readOnly)
        #expect(!fault.description.contains("INSERT"), "the fault names the code, not the statement: \(fault)")
        #expect(try await store.request(id: "req_refused", owner: "") == nil, "nothing of the refused group is stored")

        try await store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = OFF") }
        try await store.acceptChat(id: "req_after", content: "after", at: 3)
        #expect(try await store.request(id: "req_before", owner: "") != nil)
        #expect(try await store.request(id: "req_after", owner: "") != nil)
    }
}
