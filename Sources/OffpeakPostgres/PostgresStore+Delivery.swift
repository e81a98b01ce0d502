import OffpeakCore
import PostgresNIO

/// The callback delivery queue: a claim leases each row by moving its due time past the lease.
extension PostgresStore {
    public func claimDeliveries(now: Timestamp, limit: Int, lease: Double) async throws -> [DeliveryJob] {
        try await rows(
            """
            UPDATE deferred_requests SET delivery_next_at = \(now + lease)
            WHERE id IN (
                SELECT id FROM deferred_requests
                WHERE delivery_status = 'pending' AND delivery_next_at IS NOT NULL AND delivery_next_at <= \(now)
                ORDER BY delivery_next_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: requestColumns), delivery_series_attempts
            """
        ) { row in
            DeliveryJob(request: try DeferredRequest(row), seriesAttempts: try row.column("delivery_series_attempts"))
        }
    }

    public func recordDelivery(id: String, status: DeliveryStatus, statusCode: Int?, error: String?, next: Timestamp?) async throws {
        try await execute(
            """
            UPDATE deferred_requests SET delivery_status = \(status.rawValue), delivery_attempts = delivery_attempts + 1,
                delivery_series_attempts = delivery_series_attempts + 1, delivery_last_status = \(statusCode),
                delivery_last_error = \(error), delivery_next_at = \(next)
            WHERE id = \(id)
            """)
    }

    public func nextDeliveryAt() async throws -> Timestamp? {
        try await firstRow(
            """
            SELECT MIN(delivery_next_at) FROM deferred_requests
            WHERE delivery_status = 'pending' AND delivery_next_at IS NOT NULL
            """
        ) { try $0.decode(Double?.self) } ?? nil
    }

    public func restartDelivery(id: String, owner: String, expected: DeferredStatus, now: Timestamp) async throws -> Bool {
        try await rowCount(
            """
            UPDATE deferred_requests SET delivery_status = 'pending', delivery_next_at = \(now), delivery_series_attempts = 0
            WHERE id = \(id) AND owner = \(owner) AND status = \(expected.rawValue) AND callback_url IS NOT NULL
            RETURNING id
            """) > 0
    }

    // MARK: Settings

    public func setting(_ key: String, default value: String) async throws -> String {
        try await execute("INSERT INTO settings (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO NOTHING")
        return try await firstRow("SELECT value FROM settings WHERE key = \(key)") { try $0.decode(String.self) } ?? value
    }
}
