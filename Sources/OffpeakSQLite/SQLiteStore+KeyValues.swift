import GRDB
import OffpeakCore

extension SQLiteStore {
    public func putValue(_ value: String, forKey key: String, expiresAt: Timestamp?, onlyIfAbsent: Bool, now: Timestamp) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: KeyValueSQL.prune { _ in "?" }, arguments: [now])
            let arguments: StatementArguments = [key, value, expiresAt]
            guard onlyIfAbsent else {
                try db.execute(sql: KeyValueSQL.upsert { _ in "?" }, arguments: arguments)
                return true
            }
            return try String.fetchOne(db, sql: KeyValueSQL.insertIfAbsent { _ in "?" }, arguments: arguments) != nil
        }
    }

    public func value(forKey key: String, now: Timestamp) async throws -> ExpiringValue? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: KeyValueSQL.select { _ in "?" }, arguments: [key, now]).map {
                ExpiringValue(value: $0["value"], expiresAt: $0["expires_at"])
            }
        }
    }

    public func removeValue(forKey key: String) async throws {
        try await pool.write { db in try db.execute(sql: KeyValueSQL.delete { _ in "?" }, arguments: [key]) }
    }
}
