import ArgumentParser
import Foundation
import Logging
import OffpeakCore
import OffpeakPostgres
import OffpeakSQLite

/// Opens the store `OFFPEAK_DATABASE` names: a SQLite file path, or a `postgres://` URL.
enum StoreOpening {
    /// Runs `body` with the store open and its schema up to date; the store's own services (the
    /// PostgreSQL connection pool) run for as long as `body` does.
    static func with<T: Sendable>(
        _ database: String, logger: Logger, _ body: @Sendable (any DeferredStore) async throws -> T
    ) async throws -> T {
        guard PostgresStore.isPostgresURL(database) else {
            // OFFPEAK_SQLITE_GROUP_COMMIT=false: one transaction per accept, the benchmarks' baseline.
            let groupCommit = ProcessInfo.processInfo.environment["OFFPEAK_SQLITE_GROUP_COMMIT"] != "false"
            return try await body(try SQLiteStore(path: database, groupCommit: groupCommit))
        }
        let store: PostgresStore
        do {
            store = try PostgresStore(url: database, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("offpeak: \(error)\n".utf8))
            throw ExitCode(2)
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            // Let the pool's task start before the first query (it would work anyway, with a warning).
            for _ in 0..<8 { await Task.yield() }
            do {
                try await store.migrate()
            } catch {
                FileHandle.standardError.write(Data("offpeak: could not prepare the PostgreSQL database: \(String(reflecting: error))\n".utf8))
                throw ExitCode(1)
            }
            return try await body(store)
        }
    }
}
