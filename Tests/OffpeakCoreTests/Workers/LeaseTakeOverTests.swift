import Foundation
import Logging
import OffpeakCore
import OffpeakProvider
import OffpeakTestSupport
import Synchronization
import Testing

/// Work held by an instance that died (its lease never renewed) is finished by another instance,
/// and only once the lease has run out: the flusher's preparing batch and the poller's live one.
@Suite struct LeaseTakeOverTests {
    @Test func aBatchHeldByAnInstanceThatDiedIsTakenOverOnceItsLeaseRunsOut() async throws {
        try await withInProcessSimulator { upstream in
            let store = MemoryStore()
            let clock = ManualClock()
            let provider = HTTPBatchProvider(client: TestHTTP.client, baseURL: upstream, apiKey: "sk-test")
            for index in 0..<3 { try await store.acceptChat(id: "dfr_\(index)", content: "item \(index)", at: clock.now()) }
            // Instance A claims the requests into a batch and dies before uploading it.
            let group = GroupKey(endpoint: "/v1/chat/completions", model: "qwen-plus")
            _ = try await store.claimBatch(
                id: "bat_dead", group: group, policy: FlushPolicy(), now: clock.now(), lease: Lease(holder: "A", until: clock.now() + 30))

            let flusher = Flusher(
                store: store, provider: provider, configuration: .init(policy: FlushPolicy(maxAge: 3600), lease: 30), clock: clock,
                logger: Logger(label: "flusher"))
            await flusher.resumePreparedBatches()
            #expect(try await store.batches(in: .preparing).map(\.id) == ["bat_dead"], "A's lease has not run out")
            clock.advance(by: 30)
            await flusher.resumePreparedBatches()
            let live = try #require(try await store.batches(in: .live).first)
            #expect(live.id == "bat_dead" && live.requestCount == 3, "taken over and created upstream")

            // A poller that dies holding the live batch: another polls it only after the lease.
            let upstreamID = try #require(live.upstreamID)
            try await eventually("the simulator to finish the batch", within: 30) {
                try await provider.batch(id: upstreamID).isTerminal
            }
            _ = try await store.claimDuePolls(now: clock.now(), lease: Lease(holder: "dead poller", until: clock.now() + 30), limit: 10)
            let settled = Mutex<[String]>([])
            let poller = Poller(
                store: store, provider: provider, configuration: .init(interval: 5, rules: OutcomeRules(maxAttempts: 3), lease: 30),
                clock: clock, logger: Logger(label: "poller"), onTerminal: { done in settled.withLock { $0 += done.map(\.id) } })
            try await poller.pollDue()
            #expect(settled.withLock { $0 }.isEmpty, "the dead poller's lease still runs")
            clock.advance(by: 30)
            try await poller.pollDue()
            #expect(Set(settled.withLock { $0 }) == ["dfr_0", "dfr_1", "dfr_2"])
            #expect(try await store.batches(in: .ended).map(\.id) == ["bat_dead"])
            #expect(clock.sleeping == 0, "no lease keeper is left asleep")
        }
    }
}
