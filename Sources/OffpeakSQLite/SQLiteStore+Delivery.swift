import Foundation
import GRDB
import OffpeakCore

extension SQLiteStore {
    // MARK: Dispatcher

    public func claimDeliveries(now: Timestamp, limit: Int, lease: Double) async throws -> [DeliveryJob] {
        try await pool.write { db in
            let due = try db.cachedStatement(
                sql: """
                    SELECT \(requestColumns), delivery_series_attempts, seq FROM deferred_requests
                    WHERE delivery_status = 'pending' AND delivery_next_at IS NOT NULL AND delivery_next_at <= ?
                    ORDER BY delivery_next_at LIMIT ?
                    """)
            let claimed = try SQLiteRow.all(due, arguments: [now, limit]) { row in
                (job: DeliveryJob(request: try DeferredRequest(row: row), seriesAttempts: try row.integer("delivery_series_attempts") ?? 0),
                 seq: try row.integer("seq") ?? 0)
            }
            let renew = try db.cachedStatement(sql: "UPDATE deferred_requests SET delivery_next_at = ? WHERE seq = ?")
            for (_, seq) in claimed {
                try renew.execute(arguments: [now + lease, seq])
            }
            return claimed.map(\.job)
        }
    }

    public func recordDelivery(id: String, status: DeliveryStatus, statusCode: Int?, error: String?, next: Timestamp?) async throws {
        try await deliveryAttempts.submit(DeliveryAttempt(id: id, status: status, statusCode: statusCode, error: error, next: next))
    }

    public func nextDeliveryAt() async throws -> Timestamp? {
        try await pool.read { db in
            try Double.fetchOne(
                db,
                sql: """
                    SELECT MIN(delivery_next_at) FROM deferred_requests
                    WHERE delivery_status = 'pending' AND delivery_next_at IS NOT NULL
                    """)
        }
    }

    public func restartDelivery(id: String, owner: String, expected: DeferredStatus, now: Timestamp) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE deferred_requests SET delivery_status = 'pending', delivery_next_at = ?, delivery_series_attempts = 0
                    WHERE id = ? AND owner = ? AND status = ? AND callback_url IS NOT NULL
                    """,
                arguments: [now, id, owner, expected.rawValue])
            return db.changesCount > 0
        }
    }

    // MARK: Settings

    public func setting(_ key: String, default value: String) async throws -> String {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", arguments: [key, value])
            return try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key]) ?? value
        }
    }
}

/// One callback attempt to record (`SQLiteStore.recordDelivery`).
struct DeliveryAttempt: Sendable {
    var id: String
    var status: DeliveryStatus
    var statusCode: Int?
    var error: String?
    var next: Timestamp?

    func record(in db: Database) throws {
        try db.cachedStatement(
            sql: """
                UPDATE deferred_requests SET delivery_status = ?, delivery_attempts = delivery_attempts + 1,
                    delivery_series_attempts = delivery_series_attempts + 1, delivery_last_status = ?,
                    delivery_last_error = ?, delivery_next_at = ?
                WHERE id = ?
                """
        ).execute(arguments: [status.rawValue, statusCode, error, next, id])
    }
}
