import Foundation
import Logging
import OffpeakCore
import OffpeakProvider
import OffpeakTestSupport
import Synchronization
import Testing

/// The flusher and the poller in process, on the memory store and a clock the test sets (it never
/// sleeps for real), against the simulated provider on a loopback port.
@Suite struct FlusherPollerTests {
    static let prices = PriceTable(models: [("qwen-*", ModelPrice(input: Decimal(string: "0.40")!, output: Decimal(string: "1.20")!))])

    func withSimulatorAndStore(_ body: @Sendable (_ upstream: String, _ store: MemoryStore) async throws -> Void) async throws {
        try await withInProcessSimulator { upstream in try await body(upstream, MemoryStore()) }
    }

    @Test func aPausedGroupIsNeverFlushedAndAnOperatorFlushTakesEverythingAtOnce() async throws {
        try await withSimulatorAndStore { upstream, store in
            let clock = ManualClock()
            let provider = HTTPBatchProvider(client: TestHTTP.client, baseURL: upstream, apiKey: "sk-test")
            let flusher = Flusher(
                store: store, provider: provider,
                configuration: .init(policy: FlushPolicy(maxRequests: 4, maxBytes: 1 << 20, maxAge: 60)), clock: clock,
                logger: Logger(label: "flusher"))
            let plus = GroupKey(endpoint: "/v1/chat/completions", model: "qwen-plus")
            for index in 0..<6 { try await store.acceptChat(id: "dfr_\(index)", content: "item \(index)", at: clock.now()) }
            try await store.setPaused([plus], paused: true, now: clock.now())
            clock.set(clock.now() + 3_600)
            try await flusher.flushDue()
            #expect(try await store.batches(in: .live).isEmpty, "due by size and by age, but paused")
            #expect(try await flusher.flushNow([plus]).isEmpty, "an operator's flush leaves a paused group alone too")
            try await store.setPaused([plus], paused: false, now: clock.now())
            clock.set(clock.now() - 3_600)
            let started = try await flusher.flushNow([plus])
            #expect(started.map(\.requestCount) == [4, 2], "every queued request, in files within the limits, at once")
            let live = try await store.batches(in: .live)
            #expect(Set(live.map(\.id)) == Set(started.map(\.id)))
            let upstreamBatch = try await provider.batch(id: try #require(live.first?.upstreamID))
            #expect(upstreamBatch.metadata["ds_name"]?.hasPrefix("offpeak qwen-plus ") == true)
            #expect(upstreamBatch.metadata["offpeak_batch_id"] == live.first?.id)
        }
    }

    @Test func theFlusherWaitsForAgeOrSizeAndThePollerSettlesEveryRow() async throws {
        try await withSimulatorAndStore { upstream, store in
            let workers = Workers(upstream: upstream, store: store, policy: FlushPolicy(maxRequests: 10, maxBytes: 1 << 20, maxAge: 60))
            let (clock, flusher, poller, ended) = (workers.clock, workers.flusher, workers.poller, workers.ended)

            func accept(_ count: Int, from start: Int) async throws {
                for index in start..<(start + count) {
                    try await store.acceptChat(id: "dfr_\(index)", content: "item \(index)", at: clock.now())
                }
            }

            try await accept(3, from: 0)
            clock.set(1_000_059)
            try await flusher.flushDue()
            #expect(try await store.batches(in: .live).isEmpty, "59 s old: not yet")
            clock.set(1_000_060)
            try await flusher.flushDue()
            #expect(try await store.batches(in: .live).map(\.requestCount) == [3], "60 s old: flushed by age")

            try await accept(12, from: 3)
            try await flusher.flushDue()
            let live = try await store.batches(in: .live)
            #expect(live.map(\.requestCount).sorted() == [3, 10], "ten queued: flushed by size; two left to wait for age")
            #expect(try await store.backlogs().first?.count == 2)

            // The poller polls when the clock says a batch is due, until the simulator has finished them.
            try await eventually("both batches to end", within: 30) {
                clock.set(clock.now() + 5)
                try await poller.pollDue()
                return try await store.batches(in: .live).isEmpty
            }
            #expect(Set(ended.ids) == Set((0..<13).map { "dfr_\($0)" }))
            for index in 0..<13 {
                let request = try #require(try await store.request(id: "dfr_\(index)", owner: ""))
                #expect(request.status == .completed)
                #expect((request.usage?.promptTokens ?? 0) > 0, "token counts are kept")
                let expected = Cost(usage: request.usage, model: "qwen-plus", lane: .batch, completed: true, prices: Self.prices)
                #expect(request.cost == expected && (expected.billed?.picos ?? 0) > 0, "its cost, recorded as it ended")
            }
        }
    }

    /// The split settles a chunk while it reads the next; a settle that fails stops the split, and
    /// the next poll settles every row.
    @Test func aSplitWhoseStoreFailsStopsAndTheNextPollFinishesIt() async throws {
        try await withSimulatorAndStore { upstream, store in
            let workers = Workers(upstream: upstream, store: store, policy: FlushPolicy(maxRequests: 1_200, maxBytes: 1 << 24, maxAge: 60))
            let (clock, provider, flusher, poller, ended) = (workers.clock, workers.provider, workers.flusher, workers.poller, workers.ended)
            // 1,200 lines: three chunks of the output file.
            for index in 0..<1_200 { try await store.acceptChat(id: "dfr_\(index)", content: "item \(index)", at: clock.now()) }
            try await flusher.flushDue()
            let batch = try #require(try await store.batches(in: .live).first)
            let upstreamID = try #require(batch.upstreamID)
            try await eventually("the upstream batch to end", within: 30) { try await provider.batch(id: upstreamID).isTerminal }

            store.injectFault(StoreFault(.diskFull, "full"))
            await #expect(throws: StoreFault.self) { try await poller.collect(batch, try await provider.batch(id: upstreamID)) }
            #expect(ended.ids.isEmpty, "nothing settled while the store fails")
            #expect(try await store.pendingMembers(batchID: batch.id).count == 1_200)

            store.injectFault(nil)
            clock.set(clock.now() + 3_600)
            try await poller.pollDue()
            let ids = ended.ids
            #expect(ids.count == 1_200 && Set(ids) == Set((0..<1_200).map { "dfr_\($0)" }), "every row, once")
            #expect(try await store.pendingMembers(batchID: batch.id).isEmpty)
            #expect(try await store.batches(in: .live).isEmpty)
        }
    }

    @Test func aBatchWhoseCreationFailedIsKeptAndCreatedOnceLater() async throws {
        try await withSimulatorAndStore { upstream, store in
            let clock = ManualClock()
            let provider = HTTPBatchProvider(client: TestHTTP.client, baseURL: upstream, apiKey: "sk-test")
            let flusher = Flusher(
                store: store, provider: provider,
                configuration: .init(policy: FlushPolicy(maxRequests: 10, maxBytes: 1 << 20, maxAge: 0), retry: RetryPolicy(maxAttempts: 1)),
                clock: clock, logger: Logger(label: "flusher"))
            try await store.acceptChat(id: "dfr_once", content: "once", at: clock.now())
            // The create call fails more often than the flusher retries it (once).
            _ = try await TestHTTP.post(
                upstream.replacingOccurrences(of: "/v1", with: "/sim/faults"), json: ["endpoint": "create", "status": 500, "count": 1])
            try await flusher.flushDue()
            let kept = try await store.batches(in: .preparing)
            #expect(kept.count == 1 && kept.first?.inputFileID != nil, "the uploaded batch is kept")
            #expect(try await store.request(id: "dfr_once", owner: "")?.status == .submitted, "its request is not queued again")
            #expect(try await store.backlogs().isEmpty)

            await flusher.resumePreparedBatches()
            #expect(try await store.batches(in: .preparing).count == 1, "set aside for a while, not retried at once")
            clock.set(clock.now() + 10)
            await flusher.resumePreparedBatches()
            #expect(try await store.batches(in: .preparing).isEmpty)
            #expect(try await store.batches(in: .live).count == 1)
            let list = try await TestHTTP.get(upstream + "/batches?limit=100", headers: [("Authorization", "Bearer sk-test")])
            #expect((list.json?["data"] as? [Any])?.count == 1, "created once upstream")
        }
    }

    @Test func aGroupWhoseUploadFailedWaitsBeforeItIsClaimedAgain() async throws {
        try await withSimulatorAndStore { upstream, store in
            let clock = ManualClock()
            let provider = HTTPBatchProvider(client: TestHTTP.client, baseURL: upstream, apiKey: "sk-test")
            let flusher = Flusher(
                store: store, provider: provider,
                configuration: .init(
                    policy: FlushPolicy(maxRequests: 10, maxBytes: 1 << 20, maxAge: 0),
                    retry: RetryPolicy(maxAttempts: 1, baseDelay: 2, maxDelay: 8)),
                clock: clock, logger: Logger(label: "flusher"))
            try await store.acceptChat(id: "dfr_later", content: "later", at: clock.now())
            _ = try await TestHTTP.post(
                upstream.replacingOccurrences(of: "/v1", with: "/sim/faults"), json: ["endpoint": "upload", "status": 503, "count": 2])

            try await flusher.flushDue()
            #expect(try await store.request(id: "dfr_later", owner: "")?.status == .queued, "a failed upload returns the request")
            #expect(try await store.batches(in: .abandoned).count == 1)
            let next = try await flusher.flushDue()
            #expect(try await store.batches(in: .abandoned).count == 1, "not claimed again at once")
            #expect(next.map { $0 > clock.now() && $0 <= clock.now() + 2 } == true, "due again after the backoff")

            clock.set(clock.now() + 2)
            try await flusher.flushDue()
            #expect(try await store.batches(in: .abandoned).count == 2, "tried again after the backoff, and failed again")
            clock.set(clock.now() + 1)
            try await flusher.flushDue()
            #expect(try await store.batches(in: .abandoned).count == 2, "the second wait is longer")
            clock.set(clock.now() + 3)
            try await flusher.flushDue()
            #expect(try await store.batches(in: .live).count == 1, "submitted once the provider accepts uploads")
            #expect(try await store.request(id: "dfr_later", owner: "")?.status == .submitted)
        }
    }
}

/// A flusher and a poller on one store, a clock the test sets, and the ids the poller reports ended.
final class Workers: Sendable {
    let clock = ManualClock()
    let provider: HTTPBatchProvider
    let flusher: Flusher<ManualClock>
    let poller: Poller<ManualClock>
    let ended = EndedIDs()

    init(upstream: String, store: MemoryStore, policy: FlushPolicy) {
        provider = HTTPBatchProvider(client: TestHTTP.client, baseURL: upstream, apiKey: "sk-test")
        flusher = Flusher(
            store: store, provider: provider, configuration: .init(policy: policy), clock: clock, logger: Logger(label: "flusher"))
        let ended = ended
        poller = Poller(
            store: store, provider: provider,
            configuration: .init(interval: 5, rules: OutcomeRules(maxAttempts: 3), prices: FlusherPollerTests.prices), clock: clock,
            logger: Logger(label: "poller"), onTerminal: { done in ended.add(done.map(\.id)) })
    }
}

/// The ids a poller reported ended, in the order it did.
final class EndedIDs: Sendable {
    private let state = Mutex<[String]>([])
    var ids: [String] { state.withLock { $0 } }
    func add(_ new: [String]) { state.withLock { $0 += new } }
}
