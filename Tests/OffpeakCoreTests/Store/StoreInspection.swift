@testable import OffpeakCore
@testable import OffpeakPostgres
@testable import OffpeakSQLite
import GRDB
import PostgresNIO
import Synchronization

/// Queries only the tests make: the batches of a state, oldest first.
protocol StoreInspection: Sendable {
    func batches(in state: BatchState) async throws -> [BatchRecord]
}

extension StoreLifecycle {
    func batches(in state: BatchState) async throws -> [BatchRecord] {
        guard let inspectable = self as? any StoreInspection else { fatalError("\(Self.self) cannot be inspected") }
        return try await inspectable.batches(in: state)
    }
}

extension MemoryStore: StoreInspection {
    func batches(in state: BatchState) async throws -> [BatchRecord] {
        self.state.withLock { $0.batches.values.map(\.record) }.filter { $0.state == state }.sorted { $0.createdAt < $1.createdAt }
    }
}

extension SQLiteStore: StoreInspection {
    func batches(in state: BatchState) async throws -> [BatchRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(BatchColumns.select) FROM batches WHERE state = ? ORDER BY created_at", arguments: [state.rawValue]
            ).map(BatchRecord.init(sqlite:))
        }
    }
}

extension PostgresStore: StoreInspection {
    func batches(in state: BatchState) async throws -> [BatchRecord] {
        try await batchRecords("SELECT \(unescaped: batchColumns) FROM batches WHERE state = \(state.rawValue) ORDER BY created_at")
    }
}
