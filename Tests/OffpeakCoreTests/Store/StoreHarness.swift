import Foundation
import Logging
import OffpeakCore
import OffpeakPostgres
import OffpeakSQLite
import PostgresNIO
import Testing

/// The stores the conformance suite runs against: memory and SQLite always, PostgreSQL when
/// `OFFPEAK_TEST_POSTGRES_URL` names a server (`.ci/run` starts one; so does `Tests/Support/postgres start`).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static var postgresURL: String? { ProcessInfo.processInfo.environment["OFFPEAK_TEST_POSTGRES_URL"] }
    static var available: [StoreKind] { postgresURL == nil ? [.memory, .sqlite] : [.memory, .sqlite, .postgres] }
}

/// Fresh databases for one test: a new SQLite file, or a new PostgreSQL schema, dropped afterwards.
enum StoreHarness {
    /// Runs `body` with `instances` separate stores (separate connections, as separate gateway
    /// processes would have) on one fresh database, each started and migrated concurrently.
    static func with(
        _ kind: StoreKind, instances: Int = 1, _ body: @Sendable ([any DeferredStore]) async throws -> Void
    ) async throws {
        switch kind {
        case .memory:
            // Instances of a gateway on one memory store share the one object.
            let store = MemoryStore()
            try await body(Array(repeating: store, count: instances))
        case .sqlite:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-store-\(UUID().uuidString).sqlite").path
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
            let stores = try (0..<instances).map { _ in try SQLiteStore(path: path) }
            for store in stores { try await store.migrate() }
            try await body(stores)
        case .postgres:
            let url = try #require(StoreKind.postgresURL)
            let schema = "test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
            let logger = Logger(label: "store-test")
            let admin = try PostgresStore(url: url, logger: logger)
            let stores = try (0..<instances).map { _ in
                var configuration = try PostgresStore.clientConfiguration(url: url)
                configuration.options.additionalStartupParameters = [("search_path", schema)]
                // Patient accepts: the suite shares one server with every test running at once, and
                // intake's 5 s wait for a connection is the gateway's promise, not what is tested here.
                return PostgresStore(
                    client: PostgresClient(configuration: configuration, backgroundLogger: logger), logger: logger,
                    intake: StatementDeadlines(lease: 60, answer: 120))
            }
            // A client runs once: the admin connection and the stores' pools run for the whole test.
            try await running([admin] + stores) {
                try await admin.client.query("CREATE SCHEMA \(unescaped: schema)")
                do {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for store in stores { group.addTask { try await store.migrate() } }
                        try await group.waitForAll()
                    }
                    try await body(stores)
                } catch {
                    _ = try? await admin.client.query("DROP SCHEMA \(unescaped: schema) CASCADE")
                    throw error
                }
                try await admin.client.query("DROP SCHEMA \(unescaped: schema) CASCADE")
            }
        }
    }

    /// Runs the stores' connection pools for as long as `body` runs.
    static func running(_ stores: [PostgresStore], _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { await store.run() } }
            defer { group.cancelAll() }
            try await body()
        }
    }
}

@Suite struct StoreHarnessTests {
    /// CI must run the PostgreSQL half of the suite, not skip it.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CI"] != nil))
    func postgresIsThereInCI() {
        #expect(StoreKind.postgresURL != nil, "OFFPEAK_TEST_POSTGRES_URL is not set: start one with Tests/Support/postgres start")
    }
}
