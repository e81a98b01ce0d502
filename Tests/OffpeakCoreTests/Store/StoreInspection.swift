@testable import OffpeakCore
@testable import OffpeakPostgres
@testable import OffpeakSQLite
import GRDB
import NIOCore
import PostgresNIO
import Synchronization
import Testing

/// Queries only the tests make: the batches of a state, oldest first; how many request bodies
/// the store keeps.
protocol StoreInspection: Sendable {
    func batches(in state: BatchState) async throws -> [BatchRecord]
    func keptBodies() async throws -> Int
}

extension StoreLifecycle {
    private var inspectable: any StoreInspection {
        guard let inspectable = self as? any StoreInspection else { fatalError("\(Self.self) cannot be inspected") }
        return inspectable
    }

    func batches(in state: BatchState) async throws -> [BatchRecord] {
        try await inspectable.batches(in: state)
    }

    func keptBodies() async throws -> Int {
        try await inspectable.keptBodies()
    }
}

extension MemoryStore: StoreInspection {
    func batches(in state: BatchState) async throws -> [BatchRecord] {
        self.state.withLock { $0.batches.values.map(\.record) }.filter { $0.state == state }.sorted { $0.createdAt < $1.createdAt }
    }

    func keptBodies() async throws -> Int {
        state.withLock { $0.requests.values.filter { !$0.body.isEmpty }.count }
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

    func keptBodies() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM request_bodies") ?? 0 }
    }
}

extension PostgresStore: StoreInspection {
    func batches(in state: BatchState) async throws -> [BatchRecord] {
        try await batchRecords("SELECT \(unescaped: batchColumns) FROM batches WHERE state = \(state.rawValue) ORDER BY created_at")
    }

    func keptBodies() async throws -> Int {
        try await firstRow("SELECT COUNT(*) FROM deferred_requests WHERE octet_length(body) > 0") { try $0.decode(Int.self) } ?? 0
    }
}

/// One line of a batch file as the tests read it back.
struct FileLine: Equatable {
    var id: String
    var body: [UInt8]
}

extension BatchQueue {
    /// The lines of a batch's file after line `after`, and the number of the last one: read back
    /// from what the store renders.
    func batchLines(batchID: String, after: Int = 0, limit: Int = 1000) async throws -> (lines: [FileLine], lastLine: Int?) {
        guard let chunk = try await batchFile(batchID: batchID, after: after, limit: limit) else { return ([], nil) }
        let text = Array(chunk.bytes.readableBytesView)
        let lines = try text.split(separator: UInt8(ascii: "\n")).map { raw in
            let view = try JSONObjectView(Array(raw))
            return FileLine(id: view.string("custom_id") ?? "", body: Array(view.raw("body") ?? []))
        }
        #expect(lines.count == chunk.lineCount && text.last == UInt8(ascii: "\n"))
        return (lines, chunk.lastLine)
    }
}
