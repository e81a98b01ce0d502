import Foundation
import Logging
import OffpeakPostgres
import PostgresNIO

/// A database of its own on the test PostgreSQL server (`OFFPEAK_TEST_POSTGRES_URL`, which
/// `.ci/run` sets), created for a test and dropped after it.
enum ScratchPostgres {
    static let adminURL = ProcessInfo.processInfo.environment["OFFPEAK_TEST_POSTGRES_URL"]

    static func with(_ prefix: String, _ body: @Sendable (String) async throws -> Void) async throws {
        guard let adminURL else { return }
        let admin = try PostgresStore(url: adminURL, logger: Logger(label: prefix))
        let database = "offpeak_\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            defer { group.cancelAll() }
            try await admin.client.query("CREATE DATABASE \(unescaped: database)")
            do {
                try await body(adminURL.replacingOccurrences(of: "/offpeak_test", with: "/\(database)"))
            } catch {
                _ = try? await admin.client.query("DROP DATABASE IF EXISTS \(unescaped: database) WITH (FORCE)")
                throw error
            }
            _ = try? await admin.client.query("DROP DATABASE IF EXISTS \(unescaped: database) WITH (FORCE)")
        }
    }
}
