import OffpeakCore
import PostgresNIO

extension PostgresStore {
    public func batch(id: String) async throws -> BatchRecord? {
        for try await row in try await client.query("SELECT \(unescaped: batchColumns) FROM batches WHERE id = \(id)", logger: logger) {
            return try BatchRecord(row)
        }
        return nil
    }

    public func listBatches(_ query: BatchListQuery) async throws -> BatchListPage {
        let statement = BatchListSQL(query) { "$\($0)" }
        var rows: [BatchRecord] = []
        for try await row in try await client.query(
            PostgresQuery(unsafeSQL: statement.sql, binds: statement.arguments.postgresBindings), logger: logger)
        {
            rows.append(try BatchRecord(row))
        }
        return BatchListPage(data: Array(rows.prefix(query.limit)), hasMore: rows.count > query.limit)
    }
}

extension [StoredValue] {
    /// The values bound in order.
    var postgresBindings: PostgresBindings {
        var binds = PostgresBindings()
        for value in self {
            switch value {
            case .text(let text): binds.append(text)
            case .integer(let number): binds.append(number)
            case .real(let number): binds.append(number)
            }
        }
        return binds
    }
}
