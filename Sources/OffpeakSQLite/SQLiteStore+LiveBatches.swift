import Foundation
import GRDB
import OffpeakCore

extension SQLiteStore {
    public func nextPollAt() async throws -> Timestamp? {
        try await pool.read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(next_poll_at) FROM batches WHERE state = 'live'")
        }
    }

    public func claimDuePolls(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        try await claim(where: "state = 'live' AND next_poll_at <= ? ORDER BY next_poll_at", now: now, lease: lease, limit: limit)
    }

    public func recordPoll(batchID: String, upstreamStatus: UpstreamBatchStatus, nextPollAt: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE batches SET upstream_status = ?, next_poll_at = ?, lease_holder = NULL WHERE id = ?",
                arguments: [upstreamStatus.text, nextPollAt, batchID])
        }
    }

    public func pendingMembers(batchID: String) async throws -> [String: BatchMember] {
        try await pool.read { db in
            var members: [String: BatchMember] = [:]
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT id, batch_line, attempts, callback_url, served_by FROM deferred_requests
                    WHERE batch_id = ? AND status = 'submitted'
                    """,
                arguments: [batchID])
            while let row = try cursor.next() {
                members[row["id"]] = try BatchMember(row: SQLiteRow(row: row))
            }
            return members
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
                        upstream_batch_id = NULL, submitted_at = NULL, attempts = attempts - ?
                    WHERE id = ? AND batch_id = ? AND status = 'submitted'
                    """)
            let inBatch = try Finishing.statement(in: db, guard: "id = ? AND batch_id = ? AND status = 'submitted'")
            var ended: [UsageRecord] = []
            for (id, settlement) in settlements {
                switch settlement {
                case .finish(let outcome):
                    if let record = try Finishing.apply(outcome, id: id, now: now, with: inBatch, guardArguments: [id, batchID], in: db) {
                        ended.append(record)
                    }
                case .requeue(let refund):
                    try requeue.execute(arguments: [refund ? 1 : 0, id, batchID])
                }
            }
            try SQLiteLedger.append(ended, in: db)
            return Set(ended.map(\.requestID))
        }
    }

    public func endBatch(batchID: String, upstreamStatus: UpstreamBatchStatus, now: Timestamp) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE batches SET state = 'ended', upstream_status = ?, ended_at = ?, next_poll_at = NULL, lease_holder = NULL
                    WHERE id = ?
                    """,
                arguments: [upstreamStatus.text, now, batchID])
        }
    }
}
