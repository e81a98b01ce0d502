import Logging
import NIOCore
import OffpeakCore
import PostgresNIO

/// The queue side of batching. Claims take rows with `FOR UPDATE SKIP LOCKED`: concurrent claimers
/// get disjoint files and never wait on each other.
extension PostgresStore {
    public func backlogs() async throws -> [GroupBacklog] {
        try await rows(
            """
            SELECT upstream, endpoint, model, COUNT(*), SUM(line_bytes)::BIGINT, MIN(created_at)
            FROM deferred_requests WHERE status = 'queued' GROUP BY upstream, endpoint, model
            """
        ) { row in
            let (upstream, endpoint, model, count, bytes, oldest) = try row.decode((String, String, String, Int, Int, Double).self)
            return GroupBacklog(
                key: GroupKey(upstream: upstream, endpoint: endpoint, model: model), count: count, lineBytes: bytes, oldestCreatedAt: oldest)
        }
    }

    public func claimBatch(id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease) async throws -> BatchRecord? {
        let logger = logger
        return try await withTransaction { connection in
            // Rows another instance is claiming are skipped, not waited for: the two get disjoint files.
            let rows = try await connection.query(
                """
                SELECT seq, line_bytes FROM deferred_requests
                WHERE status = 'queued' AND upstream = \(group.upstream) AND endpoint = \(group.endpoint) AND model = \(group.model)
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
                INSERT INTO batches (
                    id, upstream, endpoint, model, state, request_count, file_bytes, created_at, next_poll_at, lease_holder)
                VALUES (\(id), \(group.upstream), \(group.endpoint), \(group.model), 'preparing', \(count), \(bytes), \(now),
                    \(lease.until), \(lease.holder))
                """, logger: logger)
            return BatchRecord(
                id: id, upstream: group.upstream, endpoint: group.endpoint, model: group.model, requestCount: count, fileBytes: bytes,
                createdAt: now, nextPollAt: lease.until)
        }
    }

    public func batchFile(batchID: String, after: Int, limit: Int) async throws -> BatchFileChunk? {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
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
    }

    func batchRecords(_ query: PostgresQuery) async throws -> [BatchRecord] {
        try await rows(query) { try BatchRecord($0) }
    }

    public func recordUpload(batchID: String, inputFileID: String) async throws {
        try await execute("UPDATE batches SET input_file_id = \(inputFileID) WHERE id = \(batchID)")
    }

    public func markLive(batchID: String, upstreamID: String, upstreamStatus: UpstreamBatchStatus, nextPollAt: Timestamp, now: Timestamp)
        async throws
    {
        let logger = logger
        try await withTransaction { connection in
            try await connection.query(
                """
                UPDATE batches SET state = 'live', upstream_id = \(upstreamID), upstream_status = \(upstreamStatus.text),
                    next_poll_at = \(nextPollAt), lease_holder = NULL, submitted_at = \(now)
                WHERE id = \(batchID)
                """, logger: logger)
        }
    }

    public func abandon(batchID: String, now: Timestamp) async throws {
        let logger = logger
        try await withTransaction { connection in
            try await connection.query(
                """
                UPDATE deferred_requests SET status = 'queued', batch_id = NULL, batch_line = NULL,
                    submitted_at = NULL, attempts = GREATEST(0, attempts - 1)
                WHERE batch_id = \(batchID) AND status = 'submitted'
                """, logger: logger)
            try await connection.query(
                """
                UPDATE batches SET state = 'abandoned', ended_at = \(now), next_poll_at = NULL, lease_holder = NULL
                WHERE id = \(batchID)
                """, logger: logger)
        }
    }

    public func claimStalledBatches(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        try await batchRecords(
            """
            UPDATE batches SET next_poll_at = \(lease.until), lease_holder = \(lease.holder)
            WHERE id IN (
                SELECT id FROM batches
                WHERE state = 'preparing' AND (next_poll_at IS NULL OR next_poll_at <= \(now))
                ORDER BY created_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: batchColumns)
            """)
    }

    public func renewLease(batchID: String, lease: Lease) async throws -> Bool {
        try await rowCount(
            """
            UPDATE batches SET next_poll_at = \(lease.until)
            WHERE id = \(batchID) AND lease_holder = \(lease.holder) AND state IN ('preparing', 'live')
            RETURNING id
            """) > 0
    }

    public func setAside(batchID: String, holder: String, retryAt: Timestamp) async throws {
        try await execute(
            """
            UPDATE batches SET next_poll_at = \(retryAt), lease_holder = NULL
            WHERE id = \(batchID) AND lease_holder = \(holder) AND state = 'preparing'
            """)
    }
}
