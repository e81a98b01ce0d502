import Foundation
import Logging
import OffpeakCore
import OffpeakProvider
import OffpeakTestSupport
import Testing

/// The workers over several upstreams: the flusher makes each upstream's files within its own
/// policy and sends them with its client and window; the poller polls each batch at its
/// upstream's cadence.
@Suite struct UpstreamWorkersTests {
    @Test func eachUpstreamIsFlushedByItsPolicyAndPolledAtItsCadence() async throws {
        try await withInProcessSimulator(batchDelay: 600) { upstream in
            let store = MemoryStore()
            let clock = ManualClock()
            let provider = HTTPBatchProvider(client: TestHTTP.client, baseURL: upstream, apiKey: "sk-test")
            let upstreams = BatchUpstreams([
                "quick": .init(provider: provider, policy: FlushPolicy(maxRequests: 2, maxAge: 0), completionWindow: "24h", pollInterval: 5),
                "slow": .init(provider: provider, policy: FlushPolicy(maxRequests: 10, maxAge: 0), completionWindow: "72h", pollInterval: 50),
            ])
            for (index, name) in ["quick", "quick", "quick", "slow", "slow", "slow", "gone"].enumerated() {
                var new = NewDeferredRequest(
                    record: DeferredRequest(
                        id: "dfr_\(index)", owner: "", endpoint: "/v1/chat/completions", model: "qwen-plus", upstream: name,
                        createdAt: clock.now(), bodyDigest: "\(index)", bodyBytes: 20),
                    body: Array(#"{"model":"qwen-plus"}"#.utf8))
                new.record.upstream = name
                _ = try await store.accept(new)
            }
            let flusher = Flusher(
                store: store, upstreams: upstreams, configuration: .init(policy: FlushPolicy()), clock: clock, logger: Logger(label: "flusher"))
            try await flusher.flushDue()
            let live = try await store.batches(in: .live)
            let sizes = Dictionary(grouping: live, by: \.upstream).mapValues { $0.map(\.requestCount).sorted() }
            #expect(sizes == ["quick": [1, 2], "slow": [3]], "each upstream's files within its own policy")
            #expect(try await store.backlogs().map(\.key.upstream) == ["gone"], "an upstream no longer configured keeps its queue")

            let poller = Poller(
                store: store, upstreams: upstreams, configuration: .init(interval: 30, rules: OutcomeRules(maxAttempts: 3)), clock: clock,
                logger: Logger(label: "poller"), onTerminal: { _ in })
            try await poller.pollDue()
            let now = clock.now()
            for batch in try await store.batches(in: .live) {
                #expect(batch.nextPollAt == now + (batch.upstream == "quick" ? 5 : 50), "\(batch.upstream) polled at its cadence")
            }
            #expect(try await provider.recentBatches(limit: 10).count == 3, "three batches created upstream")
        }
    }
}
