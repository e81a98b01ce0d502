import GRDB
import OffpeakCore

extension SQLiteStore {
    public func batch(id: String) async throws -> BatchRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(BatchColumns.select) FROM batches WHERE id = ?", arguments: [id])
                .map(BatchRecord.init(sqlite:))
        }
    }

    public func listBatches(_ query: BatchListQuery) async throws -> BatchListPage {
        let statement = BatchListSQL(query) { _ in "?" }
        let rows = try await pool.read { db in
            try Row.fetchAll(db, sql: statement.sql, arguments: StatementArguments(statement.arguments.map(\.databaseValue)))
                .map(BatchRecord.init(sqlite:))
        }
        return BatchListPage(data: Array(rows.prefix(query.limit)), hasMore: rows.count > query.limit)
    }
}
