import Logging
import OffpeakCore
import PostgresNIO

extension PostgresStore {
    public func record(_ records: [UsageRecord]) async throws {
        guard !records.isEmpty else { return }
        let logger = logger
        try await withConnection { connection in
            try await Self.insert(records, on: connection, logger: logger)
        }
    }

    public func usageTallies(_ query: UsageQuery) async throws -> [UsageTally] {
        let statement = UsageTotalsSQL(query) { "$\($0)" }
        let binds = statement.arguments.postgresBindings
        let groupBy = query.groupBy
        return try await rows(PostgresQuery(unsafeSQL: statement.sql, binds: binds)) {
            try UsageTally(row: PostgresStoredRow($0), groupedBy: groupBy)
        }
    }

    /// Inserts usage records in one statement; one whose request and lane are there already is
    /// left as it is (the totals' trigger sees only the rows inserted).
    static func insert(_ records: [UsageRecord], on connection: PostgresConnection, logger: Logger) async throws {
        guard !records.isEmpty else { return }
        var columns = ColumnArrays(UsageColumns.stored)
        for record in records { columns.append(record.storedValues.map { $0 }) }
        var binds = PostgresBindings()
        let (arguments, names) = columns.bind(into: &binds, keeps: false)
        let stored = UsageColumns.stored.names
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO usage_records (\(stored.joined(separator: ", ")))
                    SELECT \(stored.map { ColumnArrays.value($0, in: "u") }.joined(separator: ", "))
                    FROM unnest(\(arguments.joined(separator: ", "))) AS u(\(names.joined(separator: ", ")))
                    ON CONFLICT (request_id, lane) DO NOTHING
                    """, binds: binds), logger: logger)
    }
}
