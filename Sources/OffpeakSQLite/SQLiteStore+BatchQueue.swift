import Foundation
import GRDB
import OffpeakCore

/// Claims and leases. SQLite has one writer at a time, so a write transaction that reads what is
/// free and marks it taken is a claim no other process on the same file can interleave with.
extension SQLiteStore {
    public func backlogs() async throws -> [GroupBacklog] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT upstream, endpoint, model, COUNT(*) AS n, SUM(line_bytes) AS bytes, MIN(created_at) AS oldest
                    FROM deferred_requests WHERE status = 'queued' GROUP BY upstream, endpoint, model
                    """
            ).map { row in
                GroupBacklog(
                    key: GroupKey(upstream: row["upstream"], endpoint: row["endpoint"], model: row["model"]), count: row["n"],
                    lineBytes: row["bytes"], oldestCreatedAt: row["oldest"])
            }
        }
    }

    /// Rows a claim marks per write transaction. SQLite has one writer: a 50,000-request claim in one
    /// transaction held it for a quarter of a second, and every accept waited behind it. In slices,
    /// accepts commit between them.
    static let claimSlice = 2_000
    /// The first slice of a claim whose progress is reported: the early upload starts when it
    /// commits, so it is small (500 against 2,000: the flush 0.92-1.00 s against 1.07-1.13 s in
    /// three interleaved pairs; slices of 1,000 after a first of 250 were slower, 0.92-1.04 s
    /// against 0.83-0.92 s in three more).
    static let firstReportedSlice = 500

    /// Claims the group's oldest queued rows, up to the policy's limits, in slices of `claimSlice`
    /// (the first of `firstReportedSlice` when the claim's progress is reported).
    /// Each slice numbers its rows after the ones before (the file's lines, dense, in queue order)
    /// and adds them to the batch's counts, so that the batch is whole after every slice: if the
    /// process stops between two, the batch resumes (`claimStalledBatches`) with the rows it has.
    public func claimBatch(id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease) async throws -> BatchRecord? {
        try await claimBatch(id: id, group: group, policy: policy, now: now, lease: lease, reporting: nil)
    }

    /// Reports the plan (the group's queued line sizes read from the queue's covering index, without
    /// the writer, with the policy applied) and each slice as it commits.
    public func claimBatch(
        id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease,
        progress: @escaping @Sendable (ClaimProgress) -> Void
    ) async throws -> BatchRecord? {
        try await claimBatch(id: id, group: group, policy: policy, now: now, lease: lease, reporting: progress)
    }

    private func claimBatch(
        id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease,
        reporting progress: (@Sendable (ClaimProgress) -> Void)?
    ) async throws -> BatchRecord? {
        // The claim takes rows queued before it began; each slice applies the policy, so the
        // group's rows need not be read ahead (unless the caller wants the plan).
        let wantsPlan = progress != nil
        let (last, plan) = try await pool.read { db -> (Int, (count: Int, bytes: Int)?) in
            let last = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM deferred_requests") ?? 0
            guard wantsPlan else { return (last, nil) }
            let sizes = try Int.fetchAll(
                db,
                sql: """
                    SELECT line_bytes FROM deferred_requests
                    WHERE status = 'queued' AND upstream = ? AND endpoint = ? AND model = ? AND seq <= ? ORDER BY seq LIMIT ?
                    """,
                arguments: [group.upstream, group.endpoint, group.model, last, policy.maxRequests])
            return (last, policy.take(lineSizes: sizes))
        }
        if let plan, plan.count > 0 { progress?(.planned(lines: plan.count, bytes: plan.bytes)) }
        var claimed = (count: 0, bytes: 0)
        while true {
            let before = claimed
            // Each slice applies the policy after what the file holds: a row re-queued during the
            // claim (older, so before `last`) is taken in order, and the limits still hold.
            let size = before.count == 0 && wantsPlan ? Self.firstReportedSlice : Self.claimSlice
            let slice = try await pool.write { db -> (count: Int, bytes: Int, more: Bool) in
                let candidates = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT seq, line_bytes FROM deferred_requests
                        WHERE status = 'queued' AND upstream = ? AND endpoint = ? AND model = ? AND seq <= ? ORDER BY seq LIMIT ?
                        """,
                    arguments: [group.upstream, group.endpoint, group.model, last, size]
                ).map { (seq: $0[0] as Int, bytes: $0[1] as Int) }  // by position: 2,000 rows a slice
                let (count, bytes) = policy.take(lineSizes: candidates.map(\.bytes), after: before)
                guard count > 0 else { return (0, 0, false) }
                if before.count == 0 {
                    try db.execute(
                        sql: """
                            INSERT INTO batches (
                                id, upstream, endpoint, model, state, request_count, file_bytes, created_at, next_poll_at, lease_holder)
                            VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?, ?)
                            """,
                        arguments: [
                            id, group.upstream, group.endpoint, group.model, BatchState.preparing.rawValue, now, lease.until, lease.holder,
                        ])
                }
                // Within this transaction, the group's queued rows up to the last taken are exactly those taken.
                try db.execute(
                    sql: """
                        UPDATE deferred_requests
                        SET status = 'submitted', batch_id = ?, batch_line = ? + picked.line, attempts = attempts + 1, submitted_at = ?
                        FROM (
                            SELECT seq, row_number() OVER (ORDER BY seq) AS line FROM deferred_requests
                            WHERE status = 'queued' AND upstream = ? AND endpoint = ? AND model = ? AND seq <= ?
                        ) AS picked
                        WHERE deferred_requests.seq = picked.seq
                        """,
                    arguments: [id, before.count, now, group.upstream, group.endpoint, group.model, candidates[count - 1].seq])
                try db.execute(
                    sql: "UPDATE batches SET request_count = request_count + ?, file_bytes = file_bytes + ? WHERE id = ?",
                    arguments: [count, bytes, id])
                return (count, bytes, count == size)
            }
            claimed.count += slice.count
            claimed.bytes += slice.bytes
            if slice.count > 0 { progress?(.committed(lines: claimed.count, bytes: claimed.bytes)) }
            guard slice.more else { break }
        }
        guard claimed.count > 0 else { return nil }
        return BatchRecord(
            id: id, upstream: group.upstream, endpoint: group.endpoint, model: group.model, requestCount: claimed.count,
            fileBytes: claimed.bytes, createdAt: now, nextPollAt: lease.until)
    }

    public func claimStalledBatches(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        try await claim(
            where: "state = 'preparing' AND (next_poll_at IS NULL OR next_poll_at <= ?) ORDER BY created_at",
            now: now, lease: lease, limit: limit)
    }

    func claim(where condition: String, now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        try await pool.write { db in
            let batches = try SQLiteRow.all(
                db.cachedStatement(sql: "SELECT \(BatchColumns.select) FROM batches WHERE \(condition) LIMIT ?"), arguments: [now, limit],
                BatchRecord.init(row:))
            let take = try db.cachedStatement(sql: "UPDATE batches SET next_poll_at = ?, lease_holder = ? WHERE id = ?")
            for batch in batches {
                try take.execute(arguments: [lease.until, lease.holder, batch.id])
            }
            return batches
        }
    }

    public func batchFile(batchID: String, after: Int, limit: Int) async throws -> BatchFileChunk? {
        try await pool.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT d.batch_line, d.id, d.endpoint, b.body
                    FROM deferred_requests AS d JOIN request_bodies AS b ON b.seq = d.seq
                    WHERE d.batch_id = ? AND d.batch_line > ? ORDER BY d.batch_line LIMIT ?
                    """,
                arguments: [batchID, after, limit])
            var writer = BatchFileWriter()
            while let row = try rows.next() {
                // The body is read in place from SQLite's page: its one copy is into the chunk.
                let body = row.dataNoCopy(named: "body") ?? Data()
                body.withUnsafeBytes { writer.append(line: row["batch_line"], id: row["id"], endpoint: row["endpoint"], body: $0) }
            }
            return writer.finish()
        }
    }

    public func recordUpload(batchID: String, inputFileID: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE batches SET input_file_id = ? WHERE id = ?", arguments: [inputFileID, batchID])
        }
    }

    public func markLive(batchID: String, upstreamID: String, upstreamStatus: UpstreamBatchStatus, nextPollAt: Timestamp, now: Timestamp)
        async throws
    {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE batches SET state = 'live', upstream_id = ?, upstream_status = ?, next_poll_at = ?, lease_holder = NULL,
                        submitted_at = ?
                    WHERE id = ?
                    """,
                arguments: [upstreamID, upstreamStatus.text, nextPollAt, now, batchID])
        }
    }

    public func setAside(batchID: String, holder: String, retryAt: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE batches SET next_poll_at = ?, lease_holder = NULL
                    WHERE id = ? AND lease_holder = ? AND state = 'preparing'
                    """,
                arguments: [retryAt, batchID, holder])
        }
    }

    public func abandon(batchID: String, now: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE deferred_requests SET status = 'queued', batch_id = NULL, batch_line = NULL,
                        submitted_at = NULL, attempts = MAX(0, attempts - 1)
                    WHERE batch_id = ? AND status = 'submitted'
                    """,
                arguments: [batchID])
            try db.execute(
                sql: "UPDATE batches SET state = 'abandoned', ended_at = ?, next_poll_at = NULL, lease_holder = NULL WHERE id = ?",
                arguments: [now, batchID])
        }
    }

    public func renewLease(batchID: String, lease: Lease) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE batches SET next_poll_at = ?
                    WHERE id = ? AND lease_holder = ? AND state IN ('preparing', 'live')
                    """,
                arguments: [lease.until, batchID, lease.holder])
            return db.changesCount > 0
        }
    }
}
