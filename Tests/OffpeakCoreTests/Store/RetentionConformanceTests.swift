import NIOCore
import OffpeakCore
import Testing

/// Retention on every store: the bodies of ended requests go, oldest first and a few at a time;
/// the request stays, marked; one still queued or in a batch keeps its body.
@Suite struct RetentionConformanceTests {
    @Test(arguments: StoreKind.available)
    func endedRequestsLoseTheirBodiesAndKeepTheirRecord(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            for index in 0..<5 { _ = try await store.accept(StoreConformanceTests.new("dfr_\(index)")) }
            #expect(try await store.keptBodies() == 5)
            _ = try await store.cancel(id: "dfr_0", owner: "o", now: 1100)
            _ = try await store.cancel(id: "dfr_1", owner: "o", now: 1200)
            _ = try await store.claimBatch(
                id: "bat_1", group: StoreConformanceTests.group, policy: FlushPolicy(maxRequests: 1), now: 2000,
                lease: StoreConformanceTests.lease)
            #expect(try await store.purgeBodies(endedBefore: 1150, limit: 10, now: 3000) == 1, "only what ended before the time")
            #expect(try await store.request(id: "dfr_0", owner: "o")?.purgedAt == 3000)
            #expect(try await store.request(id: "dfr_1", owner: "o")?.purgedAt == nil)
            #expect(try await store.purgeBodies(endedBefore: 9999, limit: 10, now: 3001) == 1, "each request once")
            #expect(try await store.purgeBodies(id: "dfr_2", owner: "o", now: 3002) == .notEnded(try #require(try await store.request(id: "dfr_2", owner: "o"))))
            #expect(try await store.purgeBodies(id: "dfr_9", owner: "o", now: 3002) == .notFound)
            #expect(try await store.purgeBodies(id: "dfr_0", owner: "other", now: 3002) == .notFound, "another owner's")
            #expect(try await store.keptBodies() == 3, "the two ended requests' bodies are gone")
            _ = try await store.cancel(id: "dfr_4", owner: "o", now: 3003)
            guard case .purged(let purged) = try await store.purgeBodies(id: "dfr_4", owner: "o", now: 3004) else {
                Issue.record("an ended request's body is purged on demand")
                return
            }
            #expect(purged.purgedAt == 3004)
            #expect(try await store.keptBodies() == 2, "what is queued or in a batch keeps its body")
            let chunk = try await store.batchFile(batchID: "bat_1", after: 0, limit: 10)
            #expect(chunk?.lineCount == 1 && (chunk?.bytes.readableBytes ?? 0) > 20, "a request in a batch keeps its body for the file")
        }
    }
}
