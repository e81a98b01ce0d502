import OffpeakCore
import PostgresNIO

/// The one way the store talks to the database: every call leases its connection and reads its
/// rows under deadlines (`GuardedCall`), so that no caller (an app's request, a worker's pass)
/// can wait forever on a connection the server closed. Rows are read inside the lease.
extension PostgresStore {
    func withConnection<T: Sendable>(
        _ deadlines: StatementDeadlines = .standard, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await GuardedCall.run(client, deadlines, body)
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    func withTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = logger
        return try await withConnection { connection in
            try await connection.withTransaction(logger: logger) { try await body($0) }
        }
    }

    /// Runs one statement; its rows, if any, are dropped.
    func execute(_ query: PostgresQuery) async throws {
        let logger = logger
        try await withConnection { connection in
            for try await _ in try await connection.query(query, logger: logger) {}
        }
    }

    /// Runs one statement and returns its rows, each read by `read`.
    func rows<T: Sendable>(_ query: PostgresQuery, _ read: @escaping @Sendable (PostgresRow) throws -> T) async throws -> [T] {
        let logger = logger
        return try await withConnection { connection in
            try await connection.query(query, logger: logger).collect().map(read)
        }
    }

    /// The first row's value, if there is a row.
    func firstRow<T: Sendable>(_ query: PostgresQuery, _ read: @escaping @Sendable (PostgresRow) throws -> T) async throws -> T? {
        try await rows(query, read).first
    }

    /// How many rows the statement returned (a `RETURNING` of the rows it changed).
    func rowCount(_ query: PostgresQuery) async throws -> Int {
        try await rows(query) { _ in () }.count
    }
}
