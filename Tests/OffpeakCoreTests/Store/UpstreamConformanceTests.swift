import OffpeakCore
import Testing

/// Several upstreams on every store: a group is (upstream, endpoint, model), so the same model
/// queued for two upstreams makes two groups, each claimed into batches of its own upstream;
/// pauses hold per upstream; the ledger records each call under its upstream.
@Suite struct UpstreamConformanceTests {
    static func new(_ id: String, upstream: String) -> NewDeferredRequest {
        var new = StoreConformanceTests.new(id)
        new.record.upstream = upstream
        return new
    }

    @Test(arguments: StoreKind.available)
    func groupsBatchesPausesAndTheLedgerAreKeptPerUpstream(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            for index in 0..<3 { _ = try await store.accept(Self.new("dfr_a\(index)", upstream: "alpha")) }
            for index in 0..<2 { _ = try await store.accept(Self.new("dfr_b\(index)", upstream: "beta")) }
            let alpha = GroupKey(upstream: "alpha", endpoint: "/v1/chat/completions", model: "qwen-plus")
            let beta = GroupKey(upstream: "beta", endpoint: "/v1/chat/completions", model: "qwen-plus")
            let backlogs = try await store.backlogs()
            #expect(Dictionary(uniqueKeysWithValues: backlogs.map { ($0.key, $0.count) }) == [alpha: 3, beta: 2])
            #expect(try await store.request(id: "dfr_b0", owner: "o")?.upstream == "beta")

            try await store.setPaused([beta], paused: true, now: 1500)
            #expect(try await store.pausedGroups() == [beta], "a pause holds for its upstream only")

            let lease = StoreConformanceTests.lease
            let batch = try #require(try await store.claimBatch(id: "bat_a", group: alpha, policy: FlushPolicy(), now: 2000, lease: lease))
            #expect(batch.upstream == "alpha" && batch.requestCount == 3, "only alpha's requests")
            #expect(try await store.batch(id: "bat_a")?.upstream == "alpha")
            #expect(try await store.backlogs().map(\.key) == [beta])

            let members = try await store.pendingMembers(batchID: "bat_a")
            let answer = StoredResponse(statusCode: 200, requestID: nil, body: Array(#"{"usage":{"prompt_tokens":10}}"#.utf8))
            let settlements = members.keys.sorted().map { id in
                (id, Settlement(.complete(answer, OutputLine.usage(in: answer.body)), member: members[id]!))
            }
            _ = try await store.settle(batchID: "bat_a", settlements, now: 3000)
            let report = try await store.usageTallies(UsageQuery(from: 0, to: 1_000_000, groupBy: [.upstream]))
            #expect(report.map(\.group.upstream) == ["alpha"] && report.first?.requests == 3, "the ledger names the upstream")
        }
    }
}
