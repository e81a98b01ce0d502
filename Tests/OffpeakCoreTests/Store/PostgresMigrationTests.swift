import Foundation
import Logging
import OffpeakCore
@testable import OffpeakPostgres
import PostgresNIO
import Testing

/// A PostgreSQL database from before request bodies had a table of their own: a queued request's
/// body moves with it and goes into its batch file; an ended request's purged body is not kept.
@Suite(.enabled(if: StoreKind.postgresURL != nil, "OFFPEAK_TEST_POSTGRES_URL names no PostgreSQL server"))
struct PostgresMigrationTests {
    @Test func queuedBodiesMoveToTheirOwnTable() async throws {
        let url = try #require(StoreKind.postgresURL)
        let schema = "test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
        let logger = Logger(label: "migration-test")
        let admin = try PostgresStore(url: url, logger: logger)
        var configuration = try PostgresStore.clientConfiguration(url: url)
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        let store = PostgresStore(client: PostgresClient(configuration: configuration, backgroundLogger: logger), logger: logger)
        try await StoreHarness.running([admin, store]) {
            try await admin.client.query("CREATE SCHEMA \(unescaped: schema)")
            do {
                try await migrateAndFlush(store, logger: logger)
            } catch {
                _ = try? await admin.client.query("DROP SCHEMA \(unescaped: schema) CASCADE")
                throw error
            }
            try await admin.client.query("DROP SCHEMA \(unescaped: schema) CASCADE")
        }
    }

    func migrateAndFlush(_ store: PostgresStore, logger: Logger) async throws {
        try await PostgresMigrations.migrate(store.client, upTo: 10, logger: logger)
        for (id, status, body, purged) in [
            ("dfr_queued", "queued", #"{"model":"qwen-plus","messages":[]}"#, nil as Double?),
            ("dfr_purged", "completed", "", 50.0),
        ] {
            try await store.client.query(
                """
                INSERT INTO deferred_requests (id, owner, endpoint, model, status, created_at, completed_at, body_digest, body_bytes,
                    line_bytes, body, purged_at)
                VALUES (\(id), 'o', '/v1/chat/completions', 'qwen-plus', \(status), 10, 20, 'd', \(body.utf8.count), 80,
                    \(ByteBuffer(string: body)), \(purged))
                """)
        }
        #expect(try await PostgresMigrations.migrate(store.client, logger: logger) == [11])
        #expect(try await store.keptBodies() == 1, "the purged request's empty body is not carried over")
        let batch = try #require(
            try await store.claimBatch(
                id: "bat_1", group: GroupKey(upstream: "default", endpoint: "/v1/chat/completions", model: "qwen-plus"),
                policy: FlushPolicy(maxRequests: 10), now: 30, lease: Lease(holder: "test", until: 60)))
        #expect(batch.requestCount == 1)
        let chunk = try #require(try await store.batchFile(batchID: "bat_1", after: 0, limit: 10))
        let line = String(buffer: chunk.bytes)
        #expect(line.contains(#""custom_id":"dfr_queued""#) && line.contains(#""body":{"model":"qwen-plus","messages":[]}"#), "\(line)")
        // New requests keep their bodies there too.
        _ = try await store.accept(StoreConformanceTests.new("dfr_new"))
        #expect(try await store.keptBodies() == 2)
    }
}
