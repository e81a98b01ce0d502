import ArgumentParser
import Foundation
import Logging
import OffpeakCore
import OffpeakPostgres
import OffpeakSQLite
import ServiceLifecycle

/// The store `OFFPEAK_DATABASE` names: a SQLite file path, or a `postgres://` URL.
enum StoreOpening {
    /// The store, not yet migrated: `serve` migrates it before its server starts, with the store's
    /// services (the PostgreSQL pool) running in the application's service group.
    static func open(_ database: String, logger: Logger) throws -> any DeferredStore {
        guard PostgresStore.isPostgresURL(database) else {
            // OFFPEAK_SQLITE_GROUP_COMMIT=false: one transaction per accept, the benchmarks' baseline.
            let groupCommit = ProcessInfo.processInfo.environment["OFFPEAK_SQLITE_GROUP_COMMIT"] != "false"
            return try SQLiteStore(path: database, groupCommit: groupCommit)
        }
        do {
            return try PostgresStore(url: database, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("offpeak: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// For the one-shot commands (`migrate`, `webhook-secret`): runs `body` on the migrated store in
    /// a service group beside the store's own services, which stop when it returns.
    static func with<T: Sendable>(
        _ database: String, logger: Logger, _ body: @escaping @Sendable (any DeferredStore) async throws -> T
    ) async throws -> T {
        let store = try open(database, logger: logger)
        let result = StartupValue<T>()
        let task = OneShot {
            do {
                try await store.migrate()
            } catch {
                FileHandle.standardError.write(Data("offpeak: could not prepare the store: \(String(reflecting: error))\n".utf8))
                throw ExitCode(1)
            }
            result.set(try await body(store))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: store.services.map { .init(service: $0) }
                    + [.init(service: task, successTerminationBehavior: .gracefullyShutdownGroup)],
                logger: logger))
        try await group.run()
        return try await result.value()
    }
}

/// A piece of work run as a service.
struct OneShot: Service {
    let work: @Sendable () async throws -> Void

    func run() async throws {
        try await work()
    }
}
