import Foundation
import Logging
import NIOCore
import NIOSSL
import OffpeakCore
import PostgresNIO
import ServiceLifecycle

/// The shared store: several gateways on one PostgreSQL database share one queue, one set of live
/// batches and one delivery queue. Claims take rows with `FOR UPDATE SKIP LOCKED`, so concurrent
/// claimers never get the same item and never wait on each other; held work carries a lease.
///
/// The client must be running (`services`, or `PostgresClient.run()`) for any call to complete.
public struct PostgresStore: DeferredStore {
    public let client: PostgresClient
    let logger: Logger
    let accepts: GroupCommit<NewDeferredRequest, AcceptResult>

    /// Set when the pool starts: migrations (the first queries) wait for it. (A query made before
    /// would wait for the pool too, but the client logs a warning for it.)
    private let poolStarted = StartupValue<Void>()

    /// The connection pool, run in the application's service group.
    public var services: [any Service] { [Pool(store: self)] }

    /// Runs the connection pool until cancelled or shut down gracefully.
    public func run() async {
        poolStarted.set(())
        await client.run()
    }

    private struct Pool: Service {
        let store: PostgresStore
        func run() async { await store.run() }
    }

    /// `intake` bounds an accept's wait for a connection and for its answer (`.intake`: a call is
    /// answered 503 within seconds while the database is down).
    public init(client: PostgresClient, logger: Logger, intake: StatementDeadlines = .intake) {
        self.client = client
        self.logger = logger
        // One group in flight at a time: with two, each group was half the size, and the server's
        // per-statement work (the executor's set-up, the commit) came twice as often; one writer
        // took 42-43 µs of the server's CPU per accept against 47-52 µs, and 7-8% more accepts.
        accepts = GroupCommit(writers: 1) { group in await Self.accept(group, client: client, deadlines: intake, logger: logger) }
    }

    /// A store for a `postgres://user:password@host:port/database` URL; `?sslmode=require` asks
    /// for TLS (verified against the system's roots), `disable` (the default) does not.
    public init(url: String, logger: Logger) throws {
        self.init(client: PostgresClient(configuration: try Self.clientConfiguration(url: url), backgroundLogger: logger), logger: logger)
    }

    public struct InvalidURL: Error, CustomStringConvertible {
        public let description: String
    }

    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// The client configuration a URL describes.
    public static func clientConfiguration(url text: String) throws -> PostgresClient.Configuration {
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["postgres", "postgresql"].contains(scheme),
            let host = url.host, !host.isEmpty, let user = url.user
        else {
            throw InvalidURL(description: "OFFPEAK_DATABASE must look like postgres://user:password@host:5432/database")
        }
        let database = String(url.path.drop { $0 == "/" })
        let sslmode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch sslmode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw InvalidURL(description: "sslmode must be disable, prefer, require or verify-full, not '\(sslmode)'")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: url.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: url.password?.removingPercentEncoding, database: database.isEmpty ? nil : database, tls: tls)
        configuration.options.maximumConnections = 32
        return configuration
    }

    /// Runs the schema migrations (safe when several instances start at once).
    public func migrate() async throws {
        try await poolStarted.value()
        try await applyMigrations()
    }

    /// Runs the schema migrations; returns the versions it applied.
    @discardableResult
    public func applyMigrations() async throws -> [Int] {
        try await PostgresMigrations.migrate(client, logger: logger)
    }

    public func ping() async throws {
        try await execute("SELECT 1")
    }
}
