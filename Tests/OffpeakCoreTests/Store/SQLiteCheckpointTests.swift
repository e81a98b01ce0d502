import Foundation
import GRDB
import OffpeakCore
import OffpeakTestSupport
import Testing

@testable import OffpeakSQLite

/// The write-ahead log reaches the database file through the store's own checkpointing connection,
/// long before the writer's backstop threshold.
@Suite struct SQLiteCheckpointTests {
    @Test func theLogIsCopiedBackOffTheWriter() async throws {
        try await StoreHarness.with(.sqlite) { stores in
            let store = try #require(stores.first as? SQLiteStore)
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

    @Test func aStoreLetGoLeavesNoConnectionOpen() async throws {
        // The checkpointer's connection lives as long as the store: once the last copy is gone,
        // no descriptor of the process points at the database or its log.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("offpeak.sqlite").path
        do {
            let store = try SQLiteStore(path: path)
            try await store.migrate()
            try await store.acceptChat(id: "req_1", content: "hello", at: 1)
            #expect(Self.descriptors(under: folder.path) > 0)
        }
        try await eventually("every descriptor of the store's files closed") { Self.descriptors(under: folder.path) == 0 }
    }

    /// The process's open descriptors whose file lies under `folder`.
    static func descriptors(under folder: String) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.filter { entry in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)"))?.hasPrefix(folder) == true
        }.count
    }
}
