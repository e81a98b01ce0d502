import Foundation
import GRDB
import OffpeakCore
import OffpeakTestSupport
import Testing

@testable import OffpeakSQLite

/// The write-ahead log reaches the database file through the store's own checkpointing connection,
/// long before the writer's backstop threshold, and the writer's threshold is that backstop.
@Suite struct SQLiteCheckpointTests {
    @Test func theLogIsCopiedBackOffTheWriter() async throws {
        try await StoreHarness.with(.sqlite) { stores in
            let store = try #require(stores.first as? SQLiteStore)
            let threshold = try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
            #expect(threshold == SQLiteCheckpointer.writerThreshold)

            let file = store.pool.path
            func size() throws -> Int { try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0 }
            let before = try size()
            // Some 8 MB of bodies: about 2,000 pages of log, a fifth of the writer's own threshold.
            let content = String(repeating: "x", count: 32 << 10)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<256 {
                    group.addTask { try await store.acceptChat(id: "req_\(index)", content: content, at: Double(index)) }
                }
                try await group.waitForAll()
            }
            try await eventually("the log copied into the database file") { try size() >= before + (6 << 20) }
        }
    }
}
