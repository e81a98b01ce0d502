import Foundation
import Logging
import OffpeakPostgres
import PostgresNIO

/// A fresh PostgreSQL database for one benchmark run, dropped afterwards.
enum PostgresDatabase {
    /// The server `Benchmarks/run` starts (`Tests/Support/postgres start`), if any.
    static var adminURL: String? { ProcessInfo.processInfo.environment["OFFPEAK_TEST_POSTGRES_URL"] }

    static func withFresh<T: Sendable>(_ adminURL: String, _ body: @Sendable (String) async throws -> T) async throws -> T {
        let admin = try PostgresStore(url: adminURL, logger: Logger(label: "bench"))
        let name = "offpeak_bench_\(UUID().uuidString.prefix(8).lowercased())"
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            defer { group.cancelAll() }
            try await admin.client.query("CREATE DATABASE \(unescaped: name)")
            let url = adminURL.replacingOccurrences(of: "/offpeak_test", with: "/\(name)")
            do {
                let result = try await body(url)
                try await admin.client.query("DROP DATABASE \(unescaped: name) WITH (FORCE)")
                return result
            } catch {
                _ = try? await admin.client.query("DROP DATABASE \(unescaped: name) WITH (FORCE)")
                throw error
            }
        }
    }
}
