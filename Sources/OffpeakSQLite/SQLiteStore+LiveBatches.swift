import Foundation
import GRDB
import OffpeakCore

extension SQLiteStore {
    public func nextPollAt() async throws -> Timestamp? {
        try await pool.read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(next_poll_at) FROM batches WHERE state = 'live'")
        }
    }

    public func openBatchCounts() async throws -> [String: Int] {
        try await pool.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: BatchColumns.openCounts) { counts[row["status"]] = row["count"] }
            return counts
        }
    }

    public func claimDuePolls(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        try await claim(where: "state = 'live' AND next_poll_at <= ? ORDER BY next_poll_at", now: now, lease: lease, limit: limit)
    }

    public func recordPoll(batchID: String, progress: BatchProgress, nextPollAt: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE batches SET \(Self.progressAssignments), next_poll_at = ?, lease_holder = NULL WHERE id = ?",
                arguments: Self.progressArguments(progress) + [nextPollAt, batchID])
        }
    }

    /// `BatchColumns.progress`, each kept where the poll gave no value.
    static let progressAssignments = BatchColumns.progress.names.map { "\($0) = CASE WHEN ? THEN \($0) ELSE ? END" }
        .joined(separator: ", ")

    static func progressArguments(_ progress: BatchProgress) -> StatementArguments {
        StatementArguments(progress.storedChanges.flatMap { [($0 == nil).databaseValue, $0?.databaseValue ?? .null] })
    }

    public func pendingMembers(batchID: String) async throws -> [String: BatchMember] {
        try await pool.read { db in
            let pending = try db.cachedStatement(
                sql: """
                    SELECT id, batch_line, attempts, callback_url, served_by FROM deferred_requests
                    WHERE batch_id = ? AND status = 'submitted'
                    """)
            let members = try SQLiteRow.all(pending, arguments: [batchID]) { row in
                (try row.text("id") ?? "", try BatchMember(row: row))
            }
            return Dictionary(members, uniquingKeysWith: { first, _ in first })
        }
    }

    public func settle(batchID: String, _ settlements: [(id: String, settlement: Settlement)], now: Timestamp) async throws
        -> Set<String>
    {
        guard !settlements.isEmpty else { return [] }
        return try await pool.write { db in
            let requeue = try db.cachedStatement(
                sql: """
                    UPDATE deferred_requests SET status = 'queued', batch_id = NULL, batch_line = NULL,
                        submitted_at = NULL, attempts = attempts - ?
                    WHERE id = ? AND batch_id = ? AND status = 'submitted'
                    """)
            let inBatch = Finishing(guard: "id = ? AND batch_id = ? AND status = 'submitted'")
            let leaving = try db.cachedStatement(
                sql: """
                    INSERT INTO request_attempts (request_id, batch_id, upstream_batch_id, line, outcome, error_code, error_message, at)
                    SELECT id, batch_id, \(RequestColumns.upstreamBatchID(of: "deferred_requests")), batch_line, 'requeued', ?, ?, ?
                    FROM deferred_requests
                    WHERE id = ? AND batch_id = ? AND status = 'submitted'
                    """)
            var finished: Set<String> = []
            var ledger: [UsageRecord] = []
            for (id, settlement) in settlements {
                switch settlement {
                case .finish(let outcome):
                    let guardArguments = [id.databaseValue, batchID.databaseValue]
                    if try inBatch.apply(outcome, id: id, now: now, guardArguments: guardArguments, ledger: &ledger, in: db) {
                        finished.insert(id)
                    }
                case .requeue(let reason, let refund):
                    try leaving.execute(arguments: [reason.code, reason.message, now, id, batchID])
                    try requeue.execute(arguments: [refund ? 1 : 0, id, batchID])
                }
            }
            try SQLiteLedger.append(ledger, in: db)
            return finished
        }
    }

    public func endBatch(batchID: String, progress: BatchProgress, now: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE batches SET \(Self.progressAssignments) WHERE id = ?", arguments: Self.progressArguments(progress) + [batchID])
            try db.execute(
                sql: """
                    UPDATE batches SET state = 'ended', ended_at = ?2, next_poll_at = NULL, lease_holder = NULL,
                        counts_total = request_count,
                        counts_completed = (SELECT COUNT(*) FROM deferred_requests WHERE batch_id = ?1 AND status = 'completed'),
                        counts_failed = (SELECT COUNT(*) FROM deferred_requests WHERE batch_id = ?1 AND status = 'failed')
                    WHERE id = ?1
                    """,
                arguments: [batchID, now])
        }
    }
}
