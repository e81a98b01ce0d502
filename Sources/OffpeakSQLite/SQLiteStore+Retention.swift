import GRDB
import OffpeakCore

/// Retention: bodies deleted in small transactions, so the writer is never held long.
extension SQLiteStore {
    public func purgeBodies(endedBefore: Timestamp, limit: Int, now: Timestamp) async throws -> Int {
        try await pool.write { db in
            let seqs = try Int64.fetchAll(db, sql: PurgeSQL.due { _ in "?" }, arguments: [endedBefore, limit])
            try Self.purge(seqs, now: now, in: db)
            return seqs.count
        }
    }

    public func purgeBodies(id: String, owner: String, now: Timestamp) async throws -> PurgeResult {
        try await pool.write { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT seq, status, purged_at FROM deferred_requests WHERE id = ? AND owner = ?", arguments: [id, owner])
            else { return .notFound }
            let ended = DeferredStatus(rawValue: row["status"])?.isTerminal ?? false
            if ended, (row["purged_at"] as Double?) == nil { try Self.purge([row["seq"]], now: now, in: db) }
            guard let request = try Self.request(id: id, owner: owner, in: db) else { return .notFound }
            return ended ? .purged(request) : .notEnded(request)
        }
    }

    static func purge(_ seqs: [Int64], now: Timestamp, in db: Database) throws {
        guard !seqs.isEmpty else { return }
        let list = seqs.map(String.init).joined(separator: ",")
        try db.execute(sql: "DELETE FROM request_bodies WHERE seq IN (\(list))")
        try db.execute(sql: "DELETE FROM response_bodies WHERE seq IN (\(list))")
        try db.execute(sql: "UPDATE deferred_requests SET purged_at = ? WHERE seq IN (\(list))", arguments: [now])
    }
}
