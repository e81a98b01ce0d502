import Foundation
import Hummingbird
import OffpeakCore

/// Hummingbird's key/value persistence over the store (`KeyValueStore`), so that the console's
/// sessions are read by every gateway on a shared store and outlive a restart.
struct StorePersistDriver: PersistDriver {
    let store: any KeyValueStore
    let clock: SystemClock

    func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let now = clock.now()
        guard try await store.putValue(try Self.encode(value), forKey: key, expiresAt: expires.map { now + $0.seconds }, onlyIfAbsent: true, now: now)
        else { throw PersistError.duplicate }
    }

    func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let now = clock.now()
        try await store.putValue(try Self.encode(value), forKey: key, expiresAt: expires.map { now + $0.seconds }, onlyIfAbsent: false, now: now)
    }

    func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> Object? {
        try await getWithTTL(key: key, as: type)?.object
    }

    func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> (object: Object, ttl: Duration?)? {
        let now = clock.now()
        guard let stored = try await store.value(forKey: key, now: now) else { return nil }
        do {
            let object = try JSONDecoder().decode(Object.self, from: Data(stored.value.utf8))
            return (object, stored.expiresAt.map { .milliseconds(Int64((($0 - now) * 1000).rounded())) })
        } catch {
            throw PersistError.invalidConversion
        }
    }

    func remove(key: String) async throws {
        try await store.removeValue(forKey: key)
    }

    static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }
}

extension Duration {
    /// The duration in seconds, fractions included.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
