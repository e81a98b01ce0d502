import GRDB
import OffpeakCore

extension SQLiteStore {
    public func record(_ records: [UsageRecord]) async throws {
        guard !records.isEmpty else { return }
        try await pool.write { db in
            try SQLiteLedger.append(records, in: db)
        }
    }

    public func usageTallies(_ query: UsageQuery) async throws -> [UsageTally] {
        let statement = UsageTotalsSQL(query) { _ in "?" }
        return try await pool.read { db in
            try SQLiteRow.all(
                db.makeStatement(sql: statement.sql), arguments: StatementArguments(statement.arguments.map(\.databaseValue))
            ) { try UsageTally(row: $0, groupedBy: query.groupBy) }
        }
    }
}
