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
    private let accepts: GroupCommit<NewDeferredRequest, AcceptResult>

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

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        accepts = GroupCommit(writers: 2) { group in await Self.accept(group, client: client, logger: logger) }
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
        try await client.query("SELECT 1", logger: logger)
    }

    // MARK: Intake and results

    public func accept(_ new: NewDeferredRequest) async throws -> AcceptResult {
        try await accepts.submit(new)
    }

    /// One group of accepts: one INSERT fed with arrays, one commit. A request whose idempotency key
    /// is already taken inserts nothing and is answered from the row that holds the key.
    static func accept(_ group: [NewDeferredRequest], client: PostgresClient, logger: Logger) async -> [Result<AcceptResult, any Error>] {
        var columns = AcceptColumns()
        for new in group { columns.append(new) }
        do {
            var inserted: Set<String> = []
            let rows = try await client.query(
                """
                INSERT INTO deferred_requests (id, owner, endpoint, model, status, created_at, attempts, callback_url,
                    idempotency_key, body_digest, body_bytes, line_bytes, delivery_status, body, policy)
                SELECT u.id, u.owner, u.endpoint, u.model, 'queued', u.created_at, 0, NULLIF(u.callback_url, ''),
                    NULLIF(u.idempotency_key, ''), u.body_digest, u.body_bytes, u.line_bytes, u.delivery_status, u.body,
                    NULLIF(u.policy, '')
                FROM unnest(\(columns.ids)::TEXT[], \(columns.owners)::TEXT[], \(columns.endpoints)::TEXT[],
                    \(columns.models)::TEXT[], \(columns.createdAt)::DOUBLE PRECISION[], \(columns.callbackURLs)::TEXT[],
                    \(columns.idempotencyKeys)::TEXT[], \(columns.bodyDigests)::TEXT[], \(columns.bodyBytes)::BIGINT[],
                    \(columns.lineBytes)::BIGINT[], \(columns.deliveryStatuses)::TEXT[], \(columns.bodies)::BYTEA[],
                    \(columns.policies)::TEXT[])
                    WITH ORDINALITY
                    AS u(id, owner, endpoint, model, created_at, callback_url, idempotency_key, body_digest, body_bytes,
                        line_bytes, delivery_status, body, policy, position)
                ORDER BY u.position
                ON CONFLICT (owner, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                RETURNING id
                """, logger: logger)
            for try await id in rows.decode(String.self) { inserted.insert(id) }
            var results: [Result<AcceptResult, any Error>] = []
            for new in group {
                if inserted.contains(new.record.id) {
                    results.append(.success(.created(new.record)))
                } else {
                    do {
                        results.append(.success(try await existing(for: new, client: client, logger: logger)))
                    } catch {
                        results.append(.failure(error))
                    }
                }
            }
            return results
        } catch {
            return group.map { _ in .failure(error) }
        }
    }

    /// The request holding `new`'s idempotency key.
    static func existing(for new: NewDeferredRequest, client: PostgresClient, logger: Logger) async throws -> AcceptResult {
        let record = new.record
        guard let key = record.idempotencyKey else { throw Inconsistent(description: "request \(record.id) was not inserted") }
        let rows = try await client.query(
            "SELECT \(unescaped: requestColumns) FROM deferred_requests WHERE owner = \(record.owner) AND idempotency_key = \(key)",
            logger: logger)
        guard let row = try await rows.collect().first else { throw Inconsistent(description: "no request holds key \(key)") }
        let existing = try DeferredRequest(row)
        return existing.bodyDigest == record.bodyDigest ? .existing(existing) : .conflict(existing)
    }

    struct Inconsistent: Error, CustomStringConvertible {
        let description: String
    }

    public func request(id: String, owner: String) async throws -> DeferredRequest? {
        try await requests("SELECT \(unescaped: requestColumns) FROM deferred_requests WHERE id = \(id) AND owner = \(owner)").first
    }

    func requests(_ query: PostgresQuery) async throws -> [DeferredRequest] {
        let rows = try await client.query(query, logger: logger)
        var result: [DeferredRequest] = []
        for try await row in rows { result.append(try DeferredRequest(row)) }
        return result
    }

    public func list(_ query: ListQuery) async throws -> ListPage {
        var binds = PostgresBindings()
        binds.append(query.owner)
        var sql = "SELECT \(requestColumns) FROM deferred_requests WHERE owner = $1"
        if let status = query.status {
            binds.append(status.rawValue)
            sql += " AND status = $\(binds.count)"
        }
        if let model = query.model {
            binds.append(model)
            sql += " AND model = $\(binds.count)"
        }
        if let after = query.after {
            binds.append(after)
            sql += " AND seq < COALESCE((SELECT seq FROM deferred_requests WHERE id = $\(binds.count) AND owner = $1), 0)"
        }
        binds.append(query.limit + 1)
        sql += " ORDER BY seq DESC LIMIT $\(binds.count)"
        let rows = try await requests(PostgresQuery(unsafeSQL: sql, binds: binds))
        return ListPage(data: Array(rows.prefix(query.limit)), hasMore: rows.count > query.limit)
    }

    public func cancel(id: String, owner: String, now: Timestamp) async throws -> CancelResult {
        let changed = try await client.query(
            """
            UPDATE deferred_requests SET status = 'cancelled', completed_at = \(now)
            WHERE id = \(id) AND owner = \(owner) AND status = 'queued' RETURNING seq
            """, logger: logger
        ).collect().count > 0
        guard let request = try await request(id: id, owner: owner) else { return .notFound }
        return changed ? .cancelled(request) : .notQueued(request)
    }

    // MARK: Flusher

    public func backlogs() async throws -> [GroupBacklog] {
        let rows = try await client.query(
            """
            SELECT endpoint, model, COUNT(*), SUM(line_bytes)::BIGINT, MIN(created_at)
            FROM deferred_requests WHERE status = 'queued' GROUP BY endpoint, model
            """, logger: logger)
        var backlogs: [GroupBacklog] = []
        for try await (endpoint, model, count, bytes, oldest) in rows.decode((String, String, Int, Int, Double).self) {
            backlogs.append(
                GroupBacklog(key: GroupKey(endpoint: endpoint, model: model), count: count, lineBytes: bytes, oldestCreatedAt: oldest))
        }
        return backlogs
    }

    public func claimBatch(id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease) async throws -> BatchRecord? {
        try await client.withTransaction(logger: logger) { connection in
            // Rows another instance is claiming are skipped, not waited for: the two get disjoint files.
            let rows = try await connection.query(
                """
                SELECT seq, line_bytes FROM deferred_requests
                WHERE status = 'queued' AND endpoint = \(group.endpoint) AND model = \(group.model)
                ORDER BY seq LIMIT \(policy.maxRequests) FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var seqs: [Int] = []
            var sizes: [Int] = []
            for try await (seq, size) in rows.decode((Int, Int).self) {
                seqs.append(seq)
                sizes.append(size)
            }
            let (count, bytes) = policy.take(lineSizes: sizes)
            guard count > 0 else { return nil }
            let taken = Array(seqs.prefix(count))
            try await connection.query(
                """
                UPDATE deferred_requests AS d
                SET status = 'submitted', batch_id = \(id), batch_line = picked.line, attempts = d.attempts + 1,
                    submitted_at = \(now)
                FROM unnest(\(taken)::BIGINT[]) WITH ORDINALITY AS picked(seq, line)
                WHERE d.seq = picked.seq
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO batches (id, endpoint, model, state, request_count, file_bytes, created_at, next_poll_at, lease_holder)
                VALUES (\(id), \(group.endpoint), \(group.model), 'preparing', \(count), \(bytes), \(now), \(lease.until),
                    \(lease.holder))
                """, logger: logger)
            return BatchRecord(
                id: id, endpoint: group.endpoint, model: group.model, requestCount: count, fileBytes: bytes, createdAt: now,
                nextPollAt: lease.until)
        }
    }

    public func batchFile(batchID: String, after: Int, limit: Int) async throws -> BatchFileChunk? {
        let rows = try await client.query(
            """
            SELECT batch_line, id, endpoint, body FROM deferred_requests
            WHERE batch_id = \(batchID) AND batch_line > \(after) ORDER BY batch_line LIMIT \(limit)
            """, logger: logger)
        var writer = BatchFileWriter()
        for try await (line, id, endpoint, body) in rows.decode((Int, String, String, ByteBuffer).self) {
            // The body is a view of the row's buffer: its one copy is into the chunk.
            body.withUnsafeReadableBytes { writer.append(line: line, id: id, endpoint: endpoint, body: $0) }
        }
        return writer.finish()
    }

    func batchRecords(_ query: PostgresQuery) async throws -> [BatchRecord] {
        var batches: [BatchRecord] = []
        for try await row in try await client.query(query, logger: logger) { batches.append(try BatchRecord(row)) }
        return batches
    }

    public func recordUpload(batchID: String, inputFileID: String) async throws {
        try await client.query("UPDATE batches SET input_file_id = \(inputFileID) WHERE id = \(batchID)", logger: logger)
    }

    public func markLive(batchID: String, upstreamID: String, upstreamStatus: UpstreamBatchStatus, nextPollAt: Timestamp, now: Timestamp)
        async throws
    {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                UPDATE batches SET state = 'live', upstream_id = \(upstreamID), upstream_status = \(upstreamStatus.text),
                    next_poll_at = \(nextPollAt), lease_holder = NULL
                WHERE id = \(batchID)
                """, logger: logger)
            try await connection.query(
                """
                UPDATE deferred_requests SET upstream_batch_id = \(upstreamID)
                WHERE batch_id = \(batchID) AND status = 'submitted'
                """, logger: logger)
        }
    }

    public func abandon(batchID: String, now: Timestamp) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                UPDATE deferred_requests SET status = 'queued', batch_id = NULL, batch_line = NULL,
                    upstream_batch_id = NULL, submitted_at = NULL, attempts = GREATEST(0, attempts - 1)
                WHERE batch_id = \(batchID) AND status = 'submitted'
                """, logger: logger)
            try await connection.query(
                """
                UPDATE batches SET state = 'abandoned', ended_at = \(now), next_poll_at = NULL, lease_holder = NULL
                WHERE id = \(batchID)
                """, logger: logger)
        }
    }

    // MARK: Real-time fallback

    public func withdraw(id: String, now: Timestamp, reason: String) async throws -> Bool {
        try await client.query(
            """
            UPDATE deferred_requests SET status = 'cancelled', completed_at = \(now), served_by = 'realtime-fallback',
                served_reason = \(reason)
            WHERE id = \(id) AND status = 'queued'
            RETURNING id
            """, logger: logger
        ).collect().count > 0
    }

    public func recordRealtimeAnswer(id: String, _ answer: RealtimeAnswer, now: Timestamp) async throws -> Bool {
        switch answer {
        case .result(let finish):
            let withdrawn = FinishGuard(status: .cancelled, batchID: nil, servedBy: .realtimeFallback)
            return try await client.withTransaction(logger: logger) { connection in
                try await Self.finish([(id, finish)], expecting: withdrawn, now: now, on: connection, logger: logger).contains(id)
            }
        case .noted(let reason):
            return try await client.query(
                """
                UPDATE deferred_requests SET served_by = 'realtime-fallback', served_reason = \(reason)
                WHERE id = \(id) AND status IN ('queued', 'submitted')
                RETURNING id
                """, logger: logger
            ).collect().count > 0
        }
    }

    // MARK: Settings

    public func setting(_ key: String, default value: String) async throws -> String {
        try await client.query(
            "INSERT INTO settings (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO NOTHING", logger: logger)
        let rows = try await client.query("SELECT value FROM settings WHERE key = \(key)", logger: logger)
        for try await stored in rows.decode(String.self) { return stored }
        return value
    }
}

/// The rows of one group of accepts, as one array per column. (Absent values travel as empty strings.)
private struct AcceptColumns {
    var ids: [String] = []
    var owners: [String] = []
    var endpoints: [String] = []
    var models: [String] = []
    var createdAt: [Double] = []
    var callbackURLs: [String] = []
    var idempotencyKeys: [String] = []
    var bodyDigests: [String] = []
    var bodyBytes: [Int] = []
    var lineBytes: [Int] = []
    var deliveryStatuses: [String] = []
    var bodies: [ByteBuffer] = []
    var policies: [String] = []

    mutating func append(_ new: NewDeferredRequest) {
        let record = new.record
        ids.append(record.id)
        owners.append(record.owner)
        endpoints.append(record.endpoint)
        models.append(record.model)
        createdAt.append(record.createdAt)
        callbackURLs.append(record.callbackURL ?? "")
        idempotencyKeys.append(record.idempotencyKey ?? "")
        bodyDigests.append(record.bodyDigest)
        bodyBytes.append(new.body.count)
        lineBytes.append(new.lineBytes)
        deliveryStatuses.append(record.delivery.status.rawValue)
        bodies.append(ByteBuffer(bytes: new.body))
        policies.append(record.policy ?? "")
    }
}
