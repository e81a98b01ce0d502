import Logging
import OffpeakCore
import PostgresNIO

/// The PostgreSQL schema, one numbered migration per change. Never edit a shipped migration: add one.
///
/// Every gateway runs them at start (and `offpeak migrate` does on its own); an advisory lock held
/// for the migrating transaction makes instances that start together apply each migration once.
enum PostgresMigrations {
    struct Migration {
        let version: Int
        let name: String
        let statements: [PostgresQuery]
    }

    /// Any fixed number: the key of the advisory lock migrations take.
    static let lockKey = 0x6F66_6670_6561_6B

    static let all: [Migration] = [
        Migration(
            version: 1, name: "requests, batches, settings",
            statements: [
                """
                CREATE TABLE deferred_requests (
                    seq BIGSERIAL PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    owner TEXT NOT NULL,
                    endpoint TEXT NOT NULL,
                    model TEXT NOT NULL,
                    status TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    submitted_at DOUBLE PRECISION,
                    completed_at DOUBLE PRECISION,
                    attempts BIGINT NOT NULL DEFAULT 0,
                    batch_id TEXT,
                    batch_line BIGINT,
                    upstream_batch_id TEXT,
                    callback_url TEXT,
                    idempotency_key TEXT,
                    body_digest TEXT NOT NULL,
                    body_bytes BIGINT NOT NULL,
                    line_bytes BIGINT NOT NULL,
                    response_status BIGINT,
                    response_request_id TEXT,
                    error_code TEXT,
                    error_message TEXT,
                    prompt_tokens BIGINT,
                    completion_tokens BIGINT,
                    delivery_status TEXT NOT NULL DEFAULT 'none',
                    delivery_attempts BIGINT NOT NULL DEFAULT 0,
                    delivery_last_status BIGINT,
                    delivery_last_error TEXT,
                    delivery_next_at DOUBLE PRECISION,
                    delivery_series_attempts BIGINT NOT NULL DEFAULT 0,
                    response_body BYTEA,
                    body BYTEA NOT NULL
                )
                """,
                """
                CREATE UNIQUE INDEX deferred_idempotency ON deferred_requests (owner, idempotency_key)
                    WHERE idempotency_key IS NOT NULL
                """,
                """
                CREATE INDEX deferred_queue ON deferred_requests (endpoint, model, seq) INCLUDE (line_bytes, created_at)
                    WHERE status = 'queued'
                """,
                "CREATE INDEX deferred_batch ON deferred_requests (batch_id, batch_line) WHERE batch_id IS NOT NULL",
                "CREATE INDEX deferred_owner ON deferred_requests (owner, seq)",
                """
                CREATE INDEX deferred_delivery ON deferred_requests (delivery_next_at)
                    WHERE delivery_status = 'pending' AND delivery_next_at IS NOT NULL
                """,
                """
                CREATE TABLE batches (
                    id TEXT PRIMARY KEY,
                    endpoint TEXT NOT NULL,
                    model TEXT NOT NULL,
                    state TEXT NOT NULL,
                    request_count BIGINT NOT NULL,
                    file_bytes BIGINT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    input_file_id TEXT,
                    upstream_id TEXT,
                    upstream_status TEXT,
                    next_poll_at DOUBLE PRECISION,
                    ended_at DOUBLE PRECISION,
                    lease_holder TEXT
                )
                """,
                "CREATE INDEX batches_state ON batches (state, next_poll_at)",
                "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            ]),
        Migration(
            version: 2, name: "how each request was served",
            statements: [
                "ALTER TABLE deferred_requests ADD COLUMN policy TEXT",
                "ALTER TABLE deferred_requests ADD COLUMN served_by TEXT",
                "ALTER TABLE deferred_requests ADD COLUMN served_reason TEXT",
            ]),
        Migration(
            version: 3, name: "token details and cost",
            statements: [
                "ALTER TABLE deferred_requests ADD COLUMN cached_tokens BIGINT",
                "ALTER TABLE deferred_requests ADD COLUMN reasoning_tokens BIGINT",
                "ALTER TABLE deferred_requests ADD COLUMN cost_lane TEXT",
                "ALTER TABLE deferred_requests ADD COLUMN cost_currency TEXT",
                "ALTER TABLE deferred_requests ADD COLUMN cost_priced BIGINT",
                // Money in integer pico-units (10⁻¹² of the currency): sums are exact.
                "ALTER TABLE deferred_requests ADD COLUMN cost_billed BIGINT",
                "ALTER TABLE deferred_requests ADD COLUMN cost_list BIGINT",
            ]),
        Migration(
            version: 4, name: "the usage ledger",
            statements: PostgresUsageSchema.create.map { PostgresQuery(unsafeSQL: $0) } + [
                // Requests that ended before the ledger existed are its first records.
                """
                INSERT INTO usage_records (request_id, lane, owner, upstream, model, endpoint, ended_at, completed, prompt_tokens,
                    completion_tokens, cached_tokens, reasoning_tokens, currency, priced, billed_picos, list_picos)
                SELECT id, COALESCE(cost_lane, 'batch'), owner, 'default', model, endpoint,
                    floor(COALESCE(completed_at, submitted_at, created_at))::BIGINT, CASE WHEN status = 'completed' THEN 1 ELSE 0 END, prompt_tokens, completion_tokens, cached_tokens,
                    reasoning_tokens, COALESCE(cost_currency, ''), COALESCE(cost_priced, 0), cost_billed, cost_list
                FROM deferred_requests WHERE status IN ('completed', 'failed') ORDER BY seq
                """
            ]),
        Migration(
            version: 5, name: "paused groups",
            statements: [
                """
                CREATE TABLE paused_groups (
                    upstream TEXT NOT NULL, endpoint TEXT NOT NULL, model TEXT NOT NULL, paused_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (upstream, endpoint, model))
                """
            ]),
        Migration(
            version: 6, name: "batch progress",
            statements: [
                "ALTER TABLE batches ADD COLUMN submitted_at DOUBLE PRECISION",
                "ALTER TABLE batches ADD COLUMN output_file_id TEXT",
                "ALTER TABLE batches ADD COLUMN error_file_id TEXT",
                "ALTER TABLE batches ADD COLUMN counts_total BIGINT",
                "ALTER TABLE batches ADD COLUMN counts_completed BIGINT",
                "ALTER TABLE batches ADD COLUMN counts_failed BIGINT",
                "ALTER TABLE batches ADD COLUMN cancel_requeue BIGINT",
                "CREATE INDEX batches_by_creation ON batches(created_at, id)",
            ]),
        Migration(
            version: 7, name: "request attempts and stats",
            statements: [
                """
                CREATE TABLE request_attempts (
                    seq BIGSERIAL PRIMARY KEY, request_id TEXT NOT NULL, batch_id TEXT NOT NULL, upstream_batch_id TEXT,
                    line BIGINT, outcome TEXT NOT NULL, error_code TEXT, error_message TEXT, at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX request_attempts_by_request ON request_attempts (request_id, seq)",
                "CREATE INDEX deferred_ended ON deferred_requests (completed_at) WHERE status IN ('completed', 'failed')",
                "CREATE INDEX deferred_in_batches ON deferred_requests (model) WHERE status = 'submitted'",
                "CREATE INDEX deferred_callbacks ON deferred_requests (delivery_status, seq) WHERE callback_url IS NOT NULL",
            ]),
        Migration(
            version: 8, name: "values with an expiry",
            statements: [
                "CREATE TABLE key_values (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at DOUBLE PRECISION)",
                "CREATE INDEX key_values_by_expiry ON key_values (expires_at) WHERE expires_at IS NOT NULL",
            ]),
        Migration(
            version: 9, name: "upstreams",
            statements: [
                "ALTER TABLE deferred_requests ADD COLUMN upstream TEXT NOT NULL DEFAULT 'default'",
                "ALTER TABLE batches ADD COLUMN upstream TEXT NOT NULL DEFAULT 'default'",
                "DROP INDEX deferred_queue",
                """
                CREATE INDEX deferred_queue ON deferred_requests (upstream, endpoint, model, seq) INCLUDE (line_bytes, created_at)
                WHERE status = 'queued'
                """,
            ]),
        Migration(
            version: 10, name: "retention",
            statements: [
                "ALTER TABLE deferred_requests ADD COLUMN purged_at DOUBLE PRECISION",
                """
                CREATE INDEX deferred_purgeable ON deferred_requests (completed_at)
                WHERE purged_at IS NULL AND status IN ('completed', 'failed', 'cancelled')
                """,
            ]),
    ]

    /// Brings the schema up to date; returns the versions it applied.
    @discardableResult
    static func migrate(_ client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS offpeak_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: logger)
            var applied: Set<Int> = []
            for try await version in try await connection.query("SELECT version FROM offpeak_migrations", logger: logger)
                .decode(Int.self)
            {
                applied.insert(version)
            }
            var done: [Int] = []
            for migration in all where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await connection.query(statement, logger: logger)
                }
                try await connection.query(
                    "INSERT INTO offpeak_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                done.append(migration.version)
            }
            return done
        }
    }
}
