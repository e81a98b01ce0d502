import OffpeakCore
import PostgresNIO

extension PostgresStore {
    public func putValue(_ value: String, forKey key: String, expiresAt: Timestamp?, onlyIfAbsent: Bool, now: Timestamp) async throws -> Bool {
        try await execute(PostgresQuery(unsafeSQL: KeyValueSQL.prune { "$\($0)" }, binds: [StoredValue.real(now)].postgresBindings))
        let binds = [StoredValue.text(key), .text(value), .real(expiresAt)].postgresBindings
        guard onlyIfAbsent else {
            try await execute(PostgresQuery(unsafeSQL: KeyValueSQL.upsert { "$\($0)" }, binds: binds))
            return true
        }
        return try await rowCount(PostgresQuery(unsafeSQL: KeyValueSQL.insertIfAbsent { "$\($0)" }, binds: binds)) > 0
    }

    public func value(forKey key: String, now: Timestamp) async throws -> ExpiringValue? {
        try await firstRow(
            PostgresQuery(unsafeSQL: KeyValueSQL.select { "$\($0)" }, binds: [StoredValue.text(key), .real(now)].postgresBindings)
        ) { row in
            let (value, expiresAt) = try row.decode((String, Double?).self)
            return ExpiringValue(value: value, expiresAt: expiresAt)
        }
    }

    public func removeValue(forKey key: String) async throws {
        try await execute(PostgresQuery(unsafeSQL: KeyValueSQL.delete { "$\($0)" }, binds: [StoredValue.text(key)].postgresBindings))
    }
}
