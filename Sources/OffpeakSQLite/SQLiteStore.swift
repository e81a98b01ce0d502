import Foundation
import GRDB
import OffpeakCore

/// The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so that a commit
/// has reached the disk before the caller is told it happened.
public struct SQLiteStore: DeferredStore {
    let pool: DatabasePool
    private let accepts: GroupCommit<NewDeferredRequest, AcceptResult>

    private let groupCommit: Bool

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// `groupCommit: false` writes each accept in a transaction of its own: the naive design,
    /// kept as the benchmarks' baseline.
    public init(path: String, groupCommit: Bool = true) throws {
        self.groupCommit = groupCommit
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        configuration.busyMode = .timeout(10)
        let pool = try DatabasePool(path: path, configuration: configuration)
        try SQLiteMigrations.migrator.migrate(pool)
        self.pool = pool
        accepts = GroupCommit { items in
            do {
                return try await pool.write { db in
                    items.map { item in Result { try Self.accept(item, in: db) } }
                }
            } catch {
                return items.map { _ in .failure(error) }
            }
        }
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    // MARK: Intake and results

    public func accept(_ new: NewDeferredRequest) async throws -> AcceptResult {
        guard groupCommit else { return try await pool.write { db in try Self.accept(new, in: db) } }
        return try await accepts.submit(new)
    }

    /// One accept inside a group's transaction; a failure here fails this request only.
    static func accept(_ new: NewDeferredRequest, in db: Database) throws -> AcceptResult {
        let record = new.record
            if let key = record.idempotencyKey,
                let row = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT \(requestColumns) FROM deferred_requests WHERE owner = ? AND idempotency_key = ?"),
                arguments: [record.owner, key])
            {
                let existing = DeferredRequest(row: row)
                return existing.bodyDigest == record.bodyDigest ? .existing(existing) : .conflict(existing)
            }
            // A cached statement: compiling the SQL again for every request costs more than the insert.
            try db.cachedStatement(
                sql: """
                    INSERT INTO deferred_requests (id, owner, endpoint, model, status, created_at, attempts,
                        callback_url, idempotency_key, body_digest, body_bytes, line_bytes, delivery_status, policy)
                    VALUES (?, ?, ?, ?, 'queued', ?, 0, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    record.id, record.owner, record.endpoint, record.model, record.createdAt, record.callbackURL,
                    record.idempotencyKey, record.bodyDigest, new.body.count,
                    BatchLine.size(id: record.id, endpoint: record.endpoint, bodyBytes: new.body.count),
                    record.delivery.status.rawValue, record.policy,
                ])
            try db.cachedStatement(sql: "INSERT INTO request_bodies (seq, body) VALUES (last_insert_rowid(), ?)")
                .execute(arguments: [Data(new.body)])
            return .created(record)
    }

    public func request(id: String, owner: String) async throws -> DeferredRequest? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(requestColumns) FROM deferred_requests WHERE id = ? AND owner = ?",
                arguments: [id, owner]
            ).map(DeferredRequest.init(row:))
        }
    }

    public func list(_ query: ListQuery) async throws -> ListPage {
        try await pool.read { db in
            var sql = "SELECT \(requestColumns) FROM deferred_requests WHERE owner = ?"
            var arguments: StatementArguments = [query.owner]
            if let status = query.status {
                sql += " AND status = ?"
                arguments += [status.rawValue]
            }
            if let model = query.model {
                sql += " AND model = ?"
                arguments += [model]
            }
            if let after = query.after {
                sql += " AND seq < COALESCE((SELECT seq FROM deferred_requests WHERE id = ? AND owner = ?), 0)"
                arguments += [after, query.owner]
            }
            sql += " ORDER BY seq DESC LIMIT ?"
            arguments += [query.limit + 1]
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments).map(DeferredRequest.init(row:))
            return ListPage(data: Array(rows.prefix(query.limit)), hasMore: rows.count > query.limit)
        }
    }

    public func cancel(id: String, owner: String, now: Timestamp) async throws -> CancelResult {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE deferred_requests SET status = 'cancelled', completed_at = ?
                    WHERE id = ? AND owner = ? AND status = 'queued'
                    """,
                arguments: [now, id, owner])
            let changed = db.changesCount > 0
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT \(requestColumns) FROM deferred_requests WHERE id = ? AND owner = ?",
                    arguments: [id, owner])
            else { return .notFound }
            let request = DeferredRequest(row: row)
            return changed ? .cancelled(request) : .notQueued(request)
        }
    }

    // MARK: Flusher

    public func backlogs() async throws -> [GroupBacklog] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT endpoint, model, COUNT(*) AS n, SUM(line_bytes) AS bytes, MIN(created_at) AS oldest
                    FROM deferred_requests WHERE status = 'queued' GROUP BY endpoint, model
                    """
            ).map { row in
                GroupBacklog(
                    key: GroupKey(endpoint: row["endpoint"], model: row["model"]), count: row["n"],
                    lineBytes: row["bytes"], oldestCreatedAt: row["oldest"])
            }
        }
    }

    public func claimBatch(id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease) async throws -> BatchRecord? {
        try await pool.write { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, line_bytes FROM deferred_requests
                    WHERE status = 'queued' AND endpoint = ? AND model = ? ORDER BY seq LIMIT ?
                    """,
                arguments: [group.endpoint, group.model, policy.maxRequests])
            let sizes = rows.map { row -> Int in row["line_bytes"] }
            let (count, bytes) = policy.take(lineSizes: sizes)
            guard count > 0 else { return nil }
            // One statement numbers the claimed rows 1...count in queue order (the file's lines).
            try db.execute(
                sql: """
                    UPDATE deferred_requests
                    SET status = 'submitted', batch_id = ?, batch_line = picked.line, attempts = attempts + 1, submitted_at = ?
                    FROM (
                        SELECT seq, row_number() OVER (ORDER BY seq) AS line FROM deferred_requests
                        WHERE status = 'queued' AND endpoint = ? AND model = ? ORDER BY seq LIMIT ?
                    ) AS picked
                    WHERE deferred_requests.seq = picked.seq
                    """,
                arguments: [id, now, group.endpoint, group.model, count])
            let batch = BatchRecord(
                id: id, endpoint: group.endpoint, model: group.model, requestCount: count, fileBytes: bytes, createdAt: now,
                nextPollAt: lease.until)
            try db.execute(
                sql: """
                    INSERT INTO batches (id, endpoint, model, state, request_count, file_bytes, created_at, next_poll_at, lease_holder)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, group.endpoint, group.model, BatchState.preparing.rawValue, count, bytes, now, lease.until, lease.holder])
            return batch
        }
    }

    public func batchLines(batchID: String, after: Int, limit: Int) async throws -> [BatchLineSource] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.batch_line, d.id, d.endpoint, b.body
                    FROM deferred_requests AS d JOIN request_bodies AS b ON b.seq = d.seq
                    WHERE d.batch_id = ? AND d.batch_line > ? ORDER BY d.batch_line LIMIT ?
                    """,
                arguments: [batchID, after, limit]
            ).map { row in
                let body: Data = row["body"]
                return BatchLineSource(line: row["batch_line"], id: row["id"], endpoint: row["endpoint"], body: Array(body))
            }
        }
    }

    public func batches(in state: BatchState) async throws -> [BatchRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM batches WHERE state = ? ORDER BY created_at", arguments: [state.rawValue])
                .map(BatchRecord.init(row:))
        }
    }

    public func recordUpload(batchID: String, inputFileID: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE batches SET input_file_id = ? WHERE id = ?", arguments: [inputFileID, batchID])
        }
    }

    public func markLive(batchID: String, upstreamID: String, upstreamStatus: String, nextPollAt: Timestamp, now: Timestamp)
        async throws
    {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE batches SET state = 'live', upstream_id = ?, upstream_status = ?, next_poll_at = ?, lease_holder = NULL
                    WHERE id = ?
                    """,
                arguments: [upstreamID, upstreamStatus, nextPollAt, batchID])
            try db.execute(
                sql: "UPDATE deferred_requests SET upstream_batch_id = ? WHERE batch_id = ? AND status = 'submitted'",
                arguments: [upstreamID, batchID])
        }
    }

    public func abandon(batchID: String, now: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE deferred_requests SET status = 'queued', batch_id = NULL, batch_line = NULL,
                        upstream_batch_id = NULL, submitted_at = NULL, attempts = MAX(0, attempts - 1)
                    WHERE batch_id = ? AND status = 'submitted'
                    """,
                arguments: [batchID])
            try db.execute(
                sql: "UPDATE batches SET state = 'abandoned', ended_at = ?, next_poll_at = NULL, lease_holder = NULL WHERE id = ?",
                arguments: [now, batchID])
        }
    }

    // MARK: Poller

    public func nextPollAt() async throws -> Timestamp? {
        try await pool.read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(next_poll_at) FROM batches WHERE state = 'live'")
        }
    }

    public func recordPoll(batchID: String, upstreamStatus: String, nextPollAt: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE batches SET upstream_status = ?, next_poll_at = ?, lease_holder = NULL WHERE id = ?",
                arguments: [upstreamStatus, nextPollAt, batchID])
        }
    }

    public func pendingMembers(batchID: String) async throws -> [String: BatchMember] {
        try await pool.read { db in
            var members: [String: BatchMember] = [:]
            let cursor = try Row.fetchCursor(
                db,
                sql: "SELECT id, batch_line, attempts FROM deferred_requests WHERE batch_id = ? AND status = 'submitted'",
                arguments: [batchID])
            while let row = try cursor.next() {
                members[row["id"]] = BatchMember(line: row["batch_line"], attempts: row["attempts"])
            }
            return members
        }
    }

    public func settle(batchID: String, outcomes: [(id: String, disposition: RowDisposition)], now: Timestamp)
        async throws -> [SettledRequest]
    {
        guard !outcomes.isEmpty else { return [] }
        return try await pool.write { db in
            // RETURNING names the row (for its response body) and whether a callback waits on it.
            let finish = try db.makeStatement(
                sql: """
                    UPDATE deferred_requests SET status = ?, completed_at = ?, response_status = ?,
                        response_request_id = ?, error_code = ?, error_message = ?,
                        prompt_tokens = ?, completion_tokens = ?, served_by = COALESCE(served_by, 'batch'),
                        delivery_status = CASE WHEN callback_url IS NULL THEN delivery_status ELSE 'pending' END,
                        delivery_next_at = CASE WHEN callback_url IS NULL THEN NULL ELSE ? END
                    WHERE id = ? AND batch_id = ? AND status = 'submitted'
                    RETURNING seq, callback_url IS NOT NULL AS has_callback
                    """)
            let keepBody = try db.makeStatement(sql: "INSERT OR REPLACE INTO response_bodies (seq, body) VALUES (?, ?)")
            let requeue = try db.makeStatement(
                sql: """
                    UPDATE deferred_requests SET status = 'queued', batch_id = NULL, batch_line = NULL,
                        upstream_batch_id = NULL, submitted_at = NULL, attempts = attempts - ?
                    WHERE id = ? AND batch_id = ? AND status = 'submitted'
                    """)
            var finished: [SettledRequest] = []
            for (id, disposition) in outcomes {
                let status: DeferredStatus
                let row: Row?
                let body: [UInt8]?
                switch disposition {
                case .complete(let response, let usage):
                    status = .completed
                    body = response.body
                    row = try Row.fetchOne(finish, arguments: [
                        DeferredStatus.completed.rawValue, now, response.statusCode, response.requestID,
                        nil, nil, usage?.promptTokens, usage?.completionTokens, now, id, batchID,
                    ])
                case .fail(let error, let response):
                    status = .failed
                    body = response?.body
                    row = try Row.fetchOne(finish, arguments: [
                        DeferredStatus.failed.rawValue, now, response?.statusCode, response?.requestID,
                        error.code, error.message, nil, nil, now, id, batchID,
                    ])
                case .requeue(_, let refund):
                    try requeue.execute(arguments: [refund ? 1 : 0, id, batchID])
                    continue
                }
                guard let row else { continue }  // settled before (a file applied twice)
                if let body { try keepBody.execute(arguments: [row["seq"] as Int64, Data(body)]) }
                finished.append(SettledRequest(id: id, status: status, hasCallback: row["has_callback"]))
            }
            return finished
        }
    }

    public func endBatch(batchID: String, upstreamStatus: String, now: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE batches SET state = 'ended', upstream_status = ?, ended_at = ?, next_poll_at = NULL, lease_holder = NULL
                    WHERE id = ?
                    """,
                arguments: [upstreamStatus, now, batchID])
        }
    }
}