/// Values with an expiry, shared by every gateway on the store: the console's sessions, through
/// Hummingbird's `PersistDriver`. An expired value reads as absent; expired values are removed as
/// others are written.
public protocol KeyValueStore: Sendable {
    /// Stores `value` under `key`. `expiresAt` nil keeps the expiry of the value there (none for a
    /// new one). With `onlyIfAbsent`, a live value under `key` is left as it is and false returned.
    @discardableResult
    func putValue(_ value: String, forKey key: String, expiresAt: Timestamp?, onlyIfAbsent: Bool, now: Timestamp) async throws -> Bool
    /// The live value under `key`, with its expiry.
    func value(forKey key: String, now: Timestamp) async throws -> ExpiringValue?
    func removeValue(forKey key: String) async throws
}

public struct ExpiringValue: Sendable, Equatable {
    public var value: String
    public var expiresAt: Timestamp?

    public init(value: String, expiresAt: Timestamp?) {
        self.value = value
        self.expiresAt = expiresAt
    }
}

/// The statements of `KeyValueStore`, the same in both SQL stores (`placeholder` numbers them).
/// Each write first removes what has expired, so that the table holds only live values.
public enum KeyValueSQL {
    public static func prune(_ placeholder: (Int) -> String) -> String {
        "DELETE FROM key_values WHERE expires_at <= \(placeholder(1))"
    }

    /// Binds key, value, expires_at; an expiry left null keeps the stored one.
    public static func upsert(_ placeholder: (Int) -> String) -> String {
        """
        INSERT INTO key_values (key, value, expires_at) VALUES (\(placeholder(1)), \(placeholder(2)), \(placeholder(3)))
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = COALESCE(excluded.expires_at, key_values.expires_at)
        """
    }

    /// Binds key, value, expires_at; leaves a value there as it is (pruned first, so it is live);
    /// returns the key when it stored the value.
    public static func insertIfAbsent(_ placeholder: (Int) -> String) -> String {
        "INSERT INTO key_values (key, value, expires_at) VALUES (\(placeholder(1)), \(placeholder(2)), \(placeholder(3))) ON CONFLICT (key) DO NOTHING RETURNING key"
    }

    /// Binds key, now.
    public static func select(_ placeholder: (Int) -> String) -> String {
        "SELECT value, expires_at FROM key_values WHERE key = \(placeholder(1)) AND (expires_at IS NULL OR expires_at > \(placeholder(2)))"
    }

    public static func delete(_ placeholder: (Int) -> String) -> String {
        "DELETE FROM key_values WHERE key = \(placeholder(1))"
    }
}
