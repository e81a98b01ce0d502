import Foundation
import OffpeakCore
import Testing

/// Batches as the operator browses them, on every store: newest first, found by id, upstream id
/// or name, filtered by status and model, a page at a time; the provider's progress while a batch
/// runs and what was settled once it ends.
@Suite struct OperatorViewsConformanceTests {
    static let max = GroupKey(endpoint: "/v1/chat/completions", model: "qwen-max")

    @Test(arguments: StoreKind.available)
    func batchesAreListedFoundAndFollowed(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            for index in 0..<3 { _ = try await store.accept(StoreConformanceTests.new("dfr_p\(index)")) }
            _ = try await store.accept(StoreConformanceTests.new("dfr_m", model: "qwen-max"))
            let lease = StoreConformanceTests.lease
            _ = try await store.claimBatch(id: "bat_1", group: StoreConformanceTests.group, policy: FlushPolicy(maxRequests: 2), now: 2000, lease: lease)
            _ = try await store.claimBatch(id: "bat_2", group: StoreConformanceTests.group, policy: FlushPolicy(maxRequests: 2), now: 2001, lease: lease)
            _ = try await store.claimBatch(id: "bat_3", group: Self.max, policy: FlushPolicy(), now: 2002, lease: lease)
            try await store.markLive(batchID: "bat_1", upstreamID: "batch_up1", upstreamStatus: .validating, nextPollAt: 2010, now: 2005)
            try await store.recordPoll(
                batchID: "bat_1", progress: BatchProgress(status: .inProgress, counts: BatchCounts(total: 2, completed: 1, failed: 0)),
                nextPollAt: 2020)
            try await store.recordPoll(batchID: "bat_1", progress: BatchProgress(status: .inProgress), nextPollAt: 2030)

            #expect(try await store.openBatchCounts() == ["preparing": 2, "in_progress": 1])
            let running = try #require(try await store.batch(id: "bat_1"))
            #expect(running.status == "in_progress" && running.submittedAt == 2005 && running.upstreamID == "batch_up1")
            #expect(running.counts == BatchCounts(total: 2, completed: 1, failed: 0), "a poll without counts keeps the last ones")
            #expect(running.name == "offpeak qwen-plus 2 requests")
            #expect(try await store.batch(id: "bat_none") == nil)

            func ids(_ query: BatchListQuery) async throws -> [String] { try await store.listBatches(query).data.map(\.id) }
            #expect(try await ids(BatchListQuery()) == ["bat_3", "bat_2", "bat_1"], "newest first")
            #expect(try await ids(BatchListQuery(status: "preparing")) == ["bat_3", "bat_2"])
            #expect(try await ids(BatchListQuery(status: "in_progress")) == ["bat_1"])
            #expect(try await ids(BatchListQuery(model: "qwen-max")) == ["bat_3"])
            #expect(try await ids(BatchListQuery(q: "batch_up1")) == ["bat_1"], "by upstream id")
            #expect(try await ids(BatchListQuery(q: "bat_2")) == ["bat_2"], "by our id")
            #expect(try await ids(BatchListQuery(q: "QWEN-MAX 1 req")) == ["bat_3"], "by part of the name, any case")
            #expect(try await ids(BatchListQuery(q: "%")) == [], "a pattern character is a character")
            let first = try await store.listBatches(BatchListQuery(limit: 2))
            #expect(first.data.map(\.id) == ["bat_3", "bat_2"] && first.hasMore)
            let second = try await store.listBatches(BatchListQuery(limit: 2, after: "bat_2"))
            #expect(second.data.map(\.id) == ["bat_1"] && !second.hasMore)

            #expect(try await store.operatorCancel(batchID: "bat_1") == nil)
            #expect(try await store.recordCancel(batchID: "bat_2", OperatorCancel(requeue: true)) == false, "not live yet")
            #expect(try await store.recordCancel(batchID: "bat_1", OperatorCancel(requeue: false)))
            #expect(try await store.operatorCancel(batchID: "bat_1") == OperatorCancel(requeue: false))
            #expect(try await store.batch(id: "bat_1")?.cancelled == OperatorCancel(requeue: false))
            #expect(try await store.recordCancel(batchID: "bat_1", nil), "taken back")
            #expect(try await store.operatorCancel(batchID: "bat_1") == nil)

            let members = try await store.pendingMembers(batchID: "bat_1")
            let answer = StoredResponse(statusCode: 200, requestID: nil, body: Array("{}".utf8))
            let settlements: [(id: String, settlement: Settlement)] = members.keys.sorted().enumerated().map { index, id in
                (id, index == 0 ? Settlement(.complete(answer, nil), member: members[id]!) : .requeue(reason: DeferredError(code: "upstream_status_500", message: "m"), refund: false))
            }
            _ = try await store.settle(batchID: "bat_1", settlements, now: 2040)
            try await store.endBatch(
                batchID: "bat_1", progress: BatchProgress(status: .completed, counts: BatchCounts(total: 2, completed: 2, failed: 0),
                outputFileID: "file-out"), now: 2050)
            // The request sent back to the queue keeps that placement in its trace; the other ended in it.
            let requeuedID = members.keys.sorted()[1]
            let requeued = try #require(try await store.trace(requestID: requeuedID))
            #expect(requeued.request.status == .queued && requeued.attempts.count == 1)
            let left = try #require(requeued.attempts.first)
            #expect(left.batchID == "bat_1" && left.upstreamBatchID == "batch_up1" && left.line == members[requeuedID]?.line)
            #expect(left.outcome == .requeued && left.reason?.code == "upstream_status_500" && left.at == 2040)
            let done = try #require(try await store.trace(requestID: members.keys.sorted()[0]))
            #expect(done.attempts.map(\.outcome) == [.completed] && done.attempts.first?.at == 2040)
            #expect(done.attempts.first?.line == members[members.keys.sorted()[0]]?.line)
            let waiting = try #require(try await store.trace(requestID: "dfr_m"))
            #expect(waiting.attempts.map(\.outcome) == [.pending] && waiting.attempts.first?.batchID == "bat_3")
            #expect(try await store.trace(requestID: "dfr_none") == nil)

            let ended = try #require(try await store.batch(id: "bat_1"))
            #expect(ended.status == "completed" && ended.endedAt == 2050 && ended.outputFileID == "file-out")
            #expect(ended.counts == BatchCounts(total: 2, completed: 1, failed: 0), "once ended: what was settled here")
            #expect(try await ids(BatchListQuery(open: true)) == ["bat_3", "bat_2"], "open: preparing or live, not ended")
        }
    }

    @Test(arguments: StoreKind.available)
    func statsCountWhatEndedInThePeriodAndWhatWaitsNow(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            let lease = StoreConformanceTests.lease
            for index in 0..<6 { _ = try await store.accept(StoreConformanceTests.new("dfr_\(index)", at: 1000)) }
            _ = try await store.accept(StoreConformanceTests.new("dfr_max", model: "qwen-max", at: 1000))
            _ = try await store.claimBatch(id: "bat_1", group: StoreConformanceTests.group, policy: FlushPolicy(maxRequests: 5), now: 1001, lease: lease)
            let members = try await store.pendingMembers(batchID: "bat_1")
            let answer = StoredResponse(statusCode: 200, requestID: nil, body: Array("{}".utf8))
            // Ended 10, 20, 30 and 40 s after acceptance (the last one failed); one ended outside the period.
            for (offset, id) in members.keys.sorted().enumerated() {
                let disposition: RowDisposition =
                    offset == 3 ? .fail(DeferredError(code: "invalid_request", message: "bad"), nil) : .complete(answer, nil)
                let settlement = Settlement(disposition, member: members[id]!)
                let now: Timestamp = offset == 4 ? 5000 : 1000 + Double(offset + 1) * 10
                _ = try await store.settle(batchID: "bat_1", [(id, settlement)], now: now)
            }
            _ = try await store.accept(StoreConformanceTests.new("dfr_late", at: 1000))
            _ = try await store.claimBatch(id: "bat_2", group: StoreConformanceTests.group, policy: FlushPolicy(maxRequests: 1), now: 1002, lease: lease)

            let stats = try await store.stats(from: 1000, to: 2000)
            #expect(stats.map(\.model) == ["qwen-max", "qwen-plus"])
            let plus = stats[1]
            #expect(plus.requests == 4 && plus.completed == 3 && plus.failed == 1 && plus.failureRate == 0.25)
            #expect(plus.averageSeconds == 25 && plus.p50Seconds == 20 && plus.p95Seconds == 40)
            #expect(plus.queuedNow == 1 && plus.inBatchesNow == 1)
            let max = stats[0]
            #expect(max.requests == 0 && max.queuedNow == 1 && max.averageSeconds == nil && max.p50Seconds == nil)
            #expect(try await store.stats(from: 4000, to: 6000).first { $0.model == "qwen-plus" }?.requests == 1)
        }
    }

    @Test(arguments: StoreKind.available)
    func callbacksAreListedNewestFirstByDeliveryState(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            for index in 0..<4 {
                _ = try await store.accept(StoreConformanceTests.new("dfr_\(index)", owner: index % 2 == 0 ? "o" : "p", callback: "https://example.com/\(index)"))
            }
            _ = try await store.accept(StoreConformanceTests.new("dfr_quiet"))
            _ = try await store.claimBatch(
                id: "bat_1", group: StoreConformanceTests.group, policy: FlushPolicy(maxRequests: 1), now: 2, lease: StoreConformanceTests.lease)
            let member = try #require(try await store.pendingMembers(batchID: "bat_1")["dfr_0"])
            let answer = StoredResponse(statusCode: 200, requestID: nil, body: Array("{}".utf8))
            _ = try await store.settle(batchID: "bat_1", [("dfr_0", Settlement(.complete(answer, nil), member: member))], now: 3)
            let jobs = try await store.claimDeliveries(now: 3, limit: 10, lease: 30)
            #expect(jobs.count == 1)
            try await store.recordDelivery(id: "dfr_0", status: .failed, statusCode: 500, error: "down", next: nil)

            let all = try await store.listDeliveries(DeliveryListQuery())
            #expect(all.data.map(\.id) == ["dfr_3", "dfr_2", "dfr_1", "dfr_0"] && !all.hasMore, "any client's, with a callback")
            #expect(try await store.listDeliveries(DeliveryListQuery(status: .failed)).data.map(\.id) == ["dfr_0"])
            #expect(try await store.listDeliveries(DeliveryListQuery(status: .pending)).data.map(\.id) == ["dfr_3", "dfr_2", "dfr_1"])
            let page = try await store.listDeliveries(DeliveryListQuery(limit: 2, after: "dfr_3"))
            #expect(page.data.map(\.id) == ["dfr_2", "dfr_1"] && page.hasMore)
        }
    }
}
