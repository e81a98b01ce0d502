import GRDB
import OffpeakCore

/// The schema, one named migration per change. Never edit a shipped migration: add one.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: requests and batches") { db in
            try db.execute(
                sql: """
                    CREATE TABLE deferred_requests (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        owner TEXT NOT NULL,
                        endpoint TEXT NOT NULL,
                        model TEXT NOT NULL,
                        status TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        submitted_at REAL,
                        completed_at REAL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        batch_id TEXT,
                        batch_line INTEGER,
                        upstream_batch_id TEXT,
                        callback_url TEXT,
                        idempotency_key TEXT,
                        body_digest TEXT NOT NULL,
                        body_bytes INTEGER NOT NULL,
                        line_bytes INTEGER NOT NULL,
                        response_status INTEGER,
                        response_request_id TEXT,
                        error_code TEXT,
                        error_message TEXT,
                        prompt_tokens INTEGER,
                        completion_tokens INTEGER,
                        delivery_status TEXT NOT NULL DEFAULT 'none',
                        delivery_attempts INTEGER NOT NULL DEFAULT 0,
                        delivery_last_status INTEGER,
                        delivery_last_error TEXT,
                        -- large values last, so that reading the others never walks their pages
                        response_body BLOB,
                        body BLOB NOT NULL
                    );
                    CREATE UNIQUE INDEX deferred_idempotency ON deferred_requests(owner, idempotency_key)
                        WHERE idempotency_key IS NOT NULL;
                    CREATE INDEX deferred_queue ON deferred_requests(endpoint, model, seq) WHERE status = 'queued';
                    CREATE INDEX deferred_batch ON deferred_requests(batch_id, batch_line) WHERE batch_id IS NOT NULL;
                    CREATE INDEX deferred_owner ON deferred_requests(owner, seq);

                    CREATE TABLE batches (
                        id TEXT PRIMARY KEY,
                        endpoint TEXT NOT NULL,
                        model TEXT NOT NULL,
                        state TEXT NOT NULL,
                        request_count INTEGER NOT NULL,
                        file_bytes INTEGER NOT NULL,
                        created_at REAL NOT NULL,
                        input_file_id TEXT,
                        upstream_id TEXT,
                        upstream_status TEXT,
                        next_poll_at REAL,
                        ended_at REAL
                    );
                    CREATE INDEX batches_state ON batches(state, next_poll_at);
                    """)
        }
        migrator.registerMigration("v2: callback delivery queue and settings") { db in
            try db.execute(
                sql: """
                    ALTER TABLE deferred_requests ADD COLUMN delivery_next_at REAL;
                    ALTER TABLE deferred_requests ADD COLUMN delivery_series_attempts INTEGER NOT NULL DEFAULT 0;
                    CREATE INDEX deferred_delivery ON deferred_requests(delivery_next_at)
                        WHERE delivery_status = 'pending' AND delivery_next_at IS NOT NULL;
                    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    """)
        }
        migrator.registerMigration("v3: covering index for the queue's sums") { db in
            // The flusher sums each group's queue often; this index answers it without the table.
            try db.execute(
                sql: """
                    DROP INDEX deferred_queue;
                    CREATE INDEX deferred_queue ON deferred_requests(endpoint, model, seq, line_bytes, created_at)
                        WHERE status = 'queued';
                    """)
        }
        migrator.registerMigration("v4: batch leases") { db in
            // Who holds a preparing or live batch; `next_poll_at` is when the hold runs out.
            try db.execute(sql: "ALTER TABLE batches ADD COLUMN lease_holder TEXT")
        }
        migrator.registerMigration("v5: how each request was served") { db in
            try db.execute(
                sql: """
                    ALTER TABLE deferred_requests ADD COLUMN policy TEXT;
                    ALTER TABLE deferred_requests ADD COLUMN served_by TEXT;
                    ALTER TABLE deferred_requests ADD COLUMN served_reason TEXT;
                    """)
        }
        migrator.registerMigration("v6: bodies in tables of their own") { db in
            // A claim or a settle rewrites a request's row; with the 1–2 KB bodies inline that was
            // most of the WAL written. The bodies are written once, and read only to build files
            // and to answer results.
            try db.execute(
                sql: """
                    CREATE TABLE request_bodies (seq INTEGER PRIMARY KEY, body BLOB NOT NULL);
                    INSERT INTO request_bodies (seq, body) SELECT seq, body FROM deferred_requests;
                    CREATE TABLE response_bodies (seq INTEGER PRIMARY KEY, body BLOB NOT NULL);
                    INSERT INTO response_bodies (seq, body)
                        SELECT seq, response_body FROM deferred_requests WHERE response_body IS NOT NULL;
                    ALTER TABLE deferred_requests DROP COLUMN body;
                    ALTER TABLE deferred_requests DROP COLUMN response_body;
                    """)
        }
        migrator.registerMigration("v7: token details and cost") { db in
            // Money in integer pico-units (10⁻¹² of the currency): sums are exact.
            try db.execute(
                sql: """
                    ALTER TABLE deferred_requests ADD COLUMN cached_tokens INTEGER;
                    ALTER TABLE deferred_requests ADD COLUMN reasoning_tokens INTEGER;
                    ALTER TABLE deferred_requests ADD COLUMN cost_lane TEXT;
                    ALTER TABLE deferred_requests ADD COLUMN cost_currency TEXT;
                    ALTER TABLE deferred_requests ADD COLUMN cost_priced INTEGER;
                    ALTER TABLE deferred_requests ADD COLUMN cost_billed INTEGER;
                    ALTER TABLE deferred_requests ADD COLUMN cost_list INTEGER;
                    """)
        }
        migrator.registerMigration("v8: the usage ledger") { db in
            try db.execute(sql: SQLiteLedger.create)
            // Requests that ended before the ledger existed are its first records (by when they ended,
            // or when they were last seen if that was not kept).
            try db.execute(
                sql: """
                    INSERT INTO usage_records (\(UsageColumns.stored.names.joined(separator: ", ")))
                    SELECT id, COALESCE(cost_lane, 'batch'), owner, 'default', model, endpoint,
                        CAST(COALESCE(completed_at, submitted_at, created_at) AS INTEGER), status = 'completed', prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens,
                        COALESCE(cost_currency, ''), COALESCE(cost_priced, 0), cost_billed, cost_list
                    FROM deferred_requests WHERE status IN ('completed', 'failed') ORDER BY seq
                    """)
            for bucket in UsageTotalsSQL.buckets {
                try db.execute(sql: UsageTotalsSQL.rollUp(into: bucket, from: "usage_records WHERE true"))
            }
        }
        migrator.registerMigration("v9: paused groups") { db in
            try db.execute(
                sql: """
                    CREATE TABLE paused_groups (
                        upstream TEXT NOT NULL, endpoint TEXT NOT NULL, model TEXT NOT NULL, paused_at REAL NOT NULL,
                        PRIMARY KEY (upstream, endpoint, model)) WITHOUT ROWID
                    """)
        }
        migrator.registerMigration("v10: batch progress") { db in
            // The provider's progress while a batch runs (then what was settled), its files, and an
            // operator's cancel (whether the rows it did not run go back to the queue).
            try db.execute(
                sql: """
                    ALTER TABLE batches ADD COLUMN submitted_at REAL;
                    ALTER TABLE batches ADD COLUMN output_file_id TEXT;
                    ALTER TABLE batches ADD COLUMN error_file_id TEXT;
                    ALTER TABLE batches ADD COLUMN counts_total INTEGER;
                    ALTER TABLE batches ADD COLUMN counts_completed INTEGER;
                    ALTER TABLE batches ADD COLUMN counts_failed INTEGER;
                    ALTER TABLE batches ADD COLUMN cancel_requeue INTEGER;
                    CREATE INDEX batches_by_creation ON batches(created_at, id);
                    """)
        }
        migrator.registerMigration("v11: request attempts and stats") { db in
            // The placements a request left for the queue again, for the operator's trace (the one it
            // is in, or ended in, is on its own row); and what the operator's stats read by.
            try db.execute(
                sql: """
                    CREATE TABLE request_attempts (
                        seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL, batch_id TEXT NOT NULL, upstream_batch_id TEXT,
                        line INTEGER, outcome TEXT NOT NULL, error_code TEXT, error_message TEXT, at REAL NOT NULL);
                    CREATE INDEX request_attempts_by_request ON request_attempts(request_id, seq);
                    CREATE INDEX deferred_ended ON deferred_requests(completed_at) WHERE status IN ('completed', 'failed');
                    CREATE INDEX deferred_in_batches ON deferred_requests(model) WHERE status = 'submitted';
                    CREATE INDEX deferred_callbacks ON deferred_requests(delivery_status, seq) WHERE callback_url IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v12: values with an expiry") { db in
            // The console's sessions, readable by every process on the file.
            try db.execute(
                sql: """
                    CREATE TABLE key_values (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL) WITHOUT ROWID;
                    CREATE INDEX key_values_by_expiry ON key_values(expires_at) WHERE expires_at IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v13: upstreams") { db in
            // The upstream each request is routed to and each batch goes to; a group is
            // (upstream, endpoint, model). Rows from before are the single upstream's.
            try db.execute(
                sql: """
                    ALTER TABLE deferred_requests ADD COLUMN upstream TEXT NOT NULL DEFAULT 'default';
                    ALTER TABLE batches ADD COLUMN upstream TEXT NOT NULL DEFAULT 'default';
                    DROP INDEX deferred_queue;
                    CREATE INDEX deferred_queue ON deferred_requests(upstream, endpoint, model, seq, line_bytes, created_at)
                        WHERE status = 'queued';
                    """)
        }
        migrator.registerMigration("v14: retention") { db in
            // When a request's bodies were deleted; the index finds the ones due, oldest first.
            try db.execute(sql: "ALTER TABLE deferred_requests ADD COLUMN purged_at REAL")
            try db.execute(
                sql: """
                    CREATE INDEX deferred_purgeable ON deferred_requests (completed_at)
                    WHERE purged_at IS NULL AND status IN ('completed', 'failed', 'cancelled')
                    """)
        }
        migrator.registerMigration("v15: the purge's index without an IN list") { db in
            // The same rows, under a condition SQLite evaluates without building a b-tree for each
            // row written (`PurgeSQL.ended`).
            // (PostgreSQL's index keeps its `IN`, which its planner proves the same as this.)
            try db.execute(sql: "DROP INDEX deferred_purgeable")
            try db.execute(
                sql: "CREATE INDEX deferred_purgeable ON deferred_requests (completed_at) WHERE purged_at IS NULL AND \(PurgeSQL.ended)")
        }
        return migrator
    }
}
