import GRDB
import OffpeakCore

/// Batch leases. SQLite has one writer at a time, so a write transaction that reads what is free
/// and marks it taken is a claim no other process on the same file can interleave with.
extension SQLiteStore {
    public func claimStalledBatches(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        try await claim(
            where: "state = 'preparing' AND (next_poll_at IS NULL OR next_poll_at <= ?) ORDER BY created_at",
            now: now, lease: lease, limit: limit)
    }

    public func claimDuePolls(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        try await claim(where: "state = 'live' AND next_poll_at <= ? ORDER BY next_poll_at", now: now, lease: lease, limit: limit)
    }

    private func claim(where condition: String, now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        try await pool.write { db in
            let batches = try Row.fetchAll(db, sql: "SELECT * FROM batches WHERE \(condition) LIMIT ?", arguments: [now, limit])
                .map(BatchRecord.init(row:))
            let take = try db.cachedStatement(sql: "UPDATE batches SET next_poll_at = ?, lease_holder = ? WHERE id = ?")
            for batch in batches {
                try take.execute(arguments: [lease.until, lease.holder, batch.id])
            }
            return batches
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
}
