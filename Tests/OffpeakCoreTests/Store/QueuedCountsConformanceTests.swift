import OffpeakCore
import Testing

/// The queue's counts, in all and per owner, on every store.
@Suite struct QueuedCountsConformanceTests {
    @Test(arguments: StoreKind.available)
    func queuedRequestsAreCountedInAllAndPerOwner(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            for index in 0..<3 { _ = try await store.accept(StoreConformanceTests.new("dfr_a\(index)", owner: "a")) }
            _ = try await store.accept(StoreConformanceTests.new("dfr_b0", owner: "b"))
            #expect(try await store.queuedCounts(byOwner: false) == QueuedCounts(total: 4))
            _ = try await store.claimBatch(
                id: "bat_1", group: StoreConformanceTests.group, policy: FlushPolicy(maxRequests: 2), now: 2000,
                lease: StoreConformanceTests.lease)
            #expect(try await store.queuedCounts(byOwner: true) == QueuedCounts(total: 2, byOwner: ["a": 1, "b": 1]), "claimed: no longer queued")
        }
    }
}
