import OffpeakCore
import PostgresNIO

extension PostgresStore {
    public func putValue(_ value: String, forKey key: String, expiresAt: Timestamp?, onlyIfAbsent: Bool, now: Timestamp) async throws -> Bool {
        try await client.query(PostgresQuery(unsafeSQL: KeyValueSQL.prune { "$\($0)" }, binds: [StoredValue.real(now)].postgresBindings), logger: logger)
        let binds = [StoredValue.text(key), .text(value), .real(expiresAt)].postgresBindings
        guard onlyIfAbsent else {
            try await client.query(PostgresQuery(unsafeSQL: KeyValueSQL.upsert { "$\($0)" }, binds: binds), logger: logger)
            return true
        }
        let rows = try await client.query(PostgresQuery(unsafeSQL: KeyValueSQL.insertIfAbsent { "$\($0)" }, binds: binds), logger: logger)
        for try await _ in rows { return true }
        return false
    }

    public func value(forKey key: String, now: Timestamp) async throws -> ExpiringValue? {
        let rows = try await client.query(
            PostgresQuery(unsafeSQL: KeyValueSQL.select { "$\($0)" }, binds: [StoredValue.text(key), .real(now)].postgresBindings), logger: logger)
        for try await (value, expiresAt) in rows.decode((String, Double?).self) {
            return ExpiringValue(value: value, expiresAt: expiresAt)
        }
        return nil
    }

    public func removeValue(forKey key: String) async throws {
        try await client.query(
            PostgresQuery(unsafeSQL: KeyValueSQL.delete { "$\($0)" }, binds: [StoredValue.text(key)].postgresBindings), logger: logger)
    }
}
