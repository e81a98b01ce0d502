import Logging
import NIOCore
import OffpeakCore
import PostgresNIO

/// Batches upstream: polls under leases, and settling fed with arrays.
extension PostgresStore {
    public func claimDuePolls(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        try await batchRecords(
            """
            UPDATE batches SET next_poll_at = \(lease.until), lease_holder = \(lease.holder)
            WHERE id IN (
                SELECT id FROM batches WHERE state = 'live' AND next_poll_at <= \(now)
                ORDER BY next_poll_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: batchColumns)
            """)
    }

    public func nextPollAt() async throws -> Timestamp? {
        try await firstRow("SELECT MIN(next_poll_at) FROM batches WHERE state = 'live'") { try $0.decode(Double?.self) } ?? nil
    }

    public func openBatchCounts() async throws -> [String: Int] {
        let counts = try await rows(PostgresQuery(unsafeSQL: BatchColumns.openCounts)) { try $0.decode((String, Int).self) }
        return Dictionary(counts, uniquingKeysWith: { first, _ in first })
    }

    public func recordPoll(batchID: String, progress: BatchProgress, nextPollAt: Timestamp) async throws {
        var binds = PostgresBindings()
        let assignments = Self.progressAssignments(progress, into: &binds)
        binds.append(nextPollAt)
        let next = binds.count
        binds.append(batchID)
        try await execute(
            PostgresQuery(
                unsafeSQL: "UPDATE batches SET \(assignments), next_poll_at = $\(next), lease_holder = NULL WHERE id = $\(binds.count)",
                binds: binds))
    }

    /// `BatchColumns.progress`, each kept where the poll gave no value.
    static func progressAssignments(_ progress: BatchProgress, into binds: inout PostgresBindings) -> String {
        zip(BatchColumns.progress.names, progress.storedChanges).map { name, change in
            switch change {
            case nil: return "\(name) = \(name)"
            case .text(let text)?: binds.append(text)
            case .integer(let number)?: binds.append(number)
            case .real(let number)?: binds.append(number)
            }
            return "\(name) = $\(binds.count)"
        }.joined(separator: ", ")
    }

    public func pendingMembers(batchID: String) async throws -> [String: BatchMember] {
        let members = try await rows(
            """
            SELECT id, batch_line, attempts, callback_url, served_by FROM deferred_requests
            WHERE batch_id = \(batchID) AND status = 'submitted'
            """
        ) { row in (try row.column("id") as String, try BatchMember(row: PostgresStoredRow(row))) }
        return Dictionary(members, uniquingKeysWith: { first, _ in first })
    }

    /// One statement for the rows that finish and one for those that go back to the queue, each
    /// fed with arrays: a chunk of 500 rows is two round trips, not 500.
    public func settle(batchID: String, _ settlements: [(id: String, settlement: Settlement)], now: Timestamp) async throws
        -> Set<String>
    {
        guard !settlements.isEmpty else { return [] }
        var finishing: [(id: String, finish: RequestFinish)] = []
        var requeueIDs: [String] = []
        var refunds: [Int] = []
        var codes: [String] = []
        var messages: [String] = []
        for (id, settlement) in settlements {
            switch settlement {
            case .finish(let finish):
                finishing.append((id, finish))
            case .requeue(let reason, let refund):
                requeueIDs.append(id)
                refunds.append(refund ? 1 : 0)
                codes.append(reason.code)
                messages.append(reason.message)
            }
        }
        let inBatch = FinishGuard(status: .submitted, batchID: batchID, servedBy: nil)
        let requeue = (ids: requeueIDs, refunds: refunds, codes: codes, messages: messages)
        let finishes = finishing
        let logger = logger
        return try await withTransaction { connection in
            let finished = try await Self.finish(finishes, expecting: inBatch, now: now, on: connection, logger: logger)
            if !requeue.ids.isEmpty {
                // The placement each leaves, for its trace.
                try await connection.query(
                    """
                    INSERT INTO request_attempts (request_id, batch_id, upstream_batch_id, line, outcome, error_code, error_message, at)
                    SELECT d.id, d.batch_id, \(unescaped: RequestColumns.upstreamBatchID(of: "d")), d.batch_line, 'requeued',
                        u.code, u.message, \(now)
                    FROM unnest(\(requeue.ids)::TEXT[], \(requeue.codes)::TEXT[], \(requeue.messages)::TEXT[]) AS u(id, code, message)
                    JOIN deferred_requests AS d ON d.id = u.id
                    WHERE d.batch_id = \(batchID) AND d.status = 'submitted'
                    """, logger: logger)
                try await connection.query(
                    """
                    UPDATE deferred_requests AS d SET status = 'queued', batch_id = NULL, batch_line = NULL,
                        submitted_at = NULL, attempts = d.attempts - u.refund
                    FROM unnest(\(requeue.ids)::TEXT[], \(requeue.refunds)::BIGINT[]) AS u(id, refund)
                    WHERE d.id = u.id AND d.batch_id = \(batchID) AND d.status = 'submitted'
                    """, logger: logger)
            }
            return finished
        }
    }

    public func endBatch(batchID: String, progress: BatchProgress, now: Timestamp) async throws {
        var binds = PostgresBindings()
        let assignments = Self.progressAssignments(progress, into: &binds)
        binds.append(batchID)
        let recordProgress = PostgresQuery(unsafeSQL: "UPDATE batches SET \(assignments) WHERE id = $\(binds.count)", binds: binds)
        let logger = logger
        try await withTransaction { connection in
            try await connection.query(recordProgress, logger: logger)
            try await connection.query(
                """
                UPDATE batches SET state = 'ended', ended_at = \(now), next_poll_at = NULL, lease_holder = NULL,
                    counts_total = request_count,
                    counts_completed = (SELECT COUNT(*) FROM deferred_requests WHERE batch_id = \(batchID) AND status = 'completed'),
                    counts_failed = (SELECT COUNT(*) FROM deferred_requests WHERE batch_id = \(batchID) AND status = 'failed')
                WHERE id = \(batchID)
                """, logger: logger)
        }
    }
}
