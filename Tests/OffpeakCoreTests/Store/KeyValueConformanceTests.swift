import OffpeakCore
import Testing

/// Values with an expiry (the console's sessions) on every store, written by one instance and
/// read by another: created only if absent, replaced with or without a new expiry, gone once
/// expired or removed.
@Suite struct KeyValueConformanceTests {
    @Test(arguments: StoreKind.available)
    func valuesAreSharedAndExpire(kind: StoreKind) async throws {
        try await StoreHarness.with(kind, instances: 2) { stores in
            let (one, other) = (stores[0], stores[1])
            #expect(try await one.putValue("a", forKey: "s.1", expiresAt: 1100, onlyIfAbsent: true, now: 1000))
            #expect(try await other.value(forKey: "s.1", now: 1000) == ExpiringValue(value: "a", expiresAt: 1100))
            #expect(try await other.putValue("b", forKey: "s.1", expiresAt: 1200, onlyIfAbsent: true, now: 1001) == false)
            #expect(try await one.value(forKey: "s.1", now: 1001)?.value == "a", "a live value is not replaced by a create")

            try await other.putValue("c", forKey: "s.1", expiresAt: nil, onlyIfAbsent: false, now: 1002)
            #expect(try await one.value(forKey: "s.1", now: 1002) == ExpiringValue(value: "c", expiresAt: 1100), "no expiry keeps the old one")
            try await other.putValue("d", forKey: "s.1", expiresAt: 1300, onlyIfAbsent: false, now: 1003)
            #expect(try await one.value(forKey: "s.1", now: 1003) == ExpiringValue(value: "d", expiresAt: 1300))
            #expect(try await one.value(forKey: "s.1", now: 1300) == nil, "expired at its expiry")

            try await one.putValue("e", forKey: "s.2", expiresAt: nil, onlyIfAbsent: false, now: 1004)
            #expect(try await other.value(forKey: "s.2", now: 9_999_999) == ExpiringValue(value: "e", expiresAt: nil), "no expiry: kept")
            try await other.removeValue(forKey: "s.2")
            #expect(try await one.value(forKey: "s.2", now: 1005) == nil)
            try await other.removeValue(forKey: "s.none")

            // An expired value is pruned by the next write, so a create under its key succeeds.
            #expect(try await one.putValue("f", forKey: "s.1", expiresAt: 1500, onlyIfAbsent: true, now: 1400))
            #expect(try await other.value(forKey: "s.1", now: 1400)?.value == "f")
        }
    }
}
