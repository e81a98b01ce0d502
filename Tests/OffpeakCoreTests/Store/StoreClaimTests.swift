import Foundation
import OffpeakCore
import Testing

/// Claims and leases, on both stores: concurrent claimers (separate connections, as separate
/// gateways have) never get the same item, and a lease that runs out lets another holder in.
@Suite struct StoreClaimTests {
    typealias T = StoreConformanceTests

    @Test(arguments: StoreKind.available)
    func concurrentFlushClaimsNeverShareARequest(kind: StoreKind) async throws {
        try await StoreHarness.with(kind, instances: 3) { stores in
            for index in 0..<300 { _ = try await stores[index % 3].accept(T.new(String(format: "dfr_%03d", index))) }
            let claimed = Collected<[String: [String]]>([:])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<6 {
                    group.addTask {
                        let store = stores[worker % 3]
                        var round = 0
                        while true {
                            let id = "bat_\(worker)_\(round)"
                            round += 1
                            guard try await store.claimBatch(
                                id: id, group: T.group, policy: FlushPolicy(maxRequests: 7), now: 2000,
                                lease: Lease(holder: "wrk_\(worker)", until: 3000)) != nil
                            else { return }
                            let (lines, last) = try await store.batchLines(batchID: id)
                            #expect(last == lines.count, "each file numbers its lines from 1")
                            await claimed.change { $0[id] = lines.map(\.id) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let all = await claimed.value.values.flatMap { $0 }
            #expect(all.count == 300, "every request claimed once")
            #expect(Set(all).count == 300, "no request in two batches")
            #expect(try await stores[0].backlogs().isEmpty)
        }
    }

    @Test(arguments: StoreKind.available)
    func aPreparingBatchIsTakenOverOnlyAfterItsLeaseRunsOut(kind: StoreKind) async throws {
        try await StoreHarness.with(kind, instances: 2) { stores in
            let (a, b) = (stores[0], stores[1])
            _ = try await a.accept(T.new("dfr_1"))
            _ = try await a.claimBatch(id: "bat_1", group: T.group, policy: FlushPolicy(), now: 100, lease: Lease(holder: "A", until: 130))
            #expect(try await b.claimStalledBatches(now: 129, lease: Lease(holder: "B", until: 160), limit: 10).isEmpty, "A holds it")
            #expect(try await a.renewLease(batchID: "bat_1", lease: Lease(holder: "A", until: 150)))
            #expect(try await b.claimStalledBatches(now: 140, lease: Lease(holder: "B", until: 170), limit: 10).isEmpty, "renewed")
            // A dies; its lease runs out at 150.
            let taken = try await b.claimStalledBatches(now: 151, lease: Lease(holder: "B", until: 181), limit: 10)
            #expect(taken.map(\.id) == ["bat_1"])
            #expect(try await a.renewLease(batchID: "bat_1", lease: Lease(holder: "A", until: 200)) == false, "A has lost it")
            #expect(try await a.claimStalledBatches(now: 160, lease: Lease(holder: "A", until: 190), limit: 10).isEmpty, "B holds it")
            // B sets it aside after a failed create: nobody takes it before the time it gave.
            try await b.setAside(batchID: "bat_1", holder: "B", retryAt: 200)
            #expect(try await a.claimStalledBatches(now: 199, lease: Lease(holder: "A", until: 230), limit: 10).isEmpty)
            #expect(try await a.claimStalledBatches(now: 200, lease: Lease(holder: "A", until: 230), limit: 10).map(\.id) == ["bat_1"])
            try await a.markLive(batchID: "bat_1", upstreamID: "up", upstreamStatus: .validating, nextPollAt: 300, now: 201)
            #expect(try await b.claimStalledBatches(now: 10_000, lease: Lease(holder: "B", until: 10_030), limit: 10).isEmpty, "live now")
        }
    }

    @Test(arguments: StoreKind.available)
    func aDuePollGoesToOneHolderUntilItReportsOrItsLeaseRunsOut(kind: StoreKind) async throws {
        try await StoreHarness.with(kind, instances: 2) { stores in
            let (a, b) = (stores[0], stores[1])
            for index in 0..<3 {
                _ = try await a.accept(T.new("dfr_\(index)", model: "m\(index)"))
                _ = try await a.claimBatch(
                    id: "bat_\(index)", group: GroupKey(endpoint: T.group.endpoint, model: "m\(index)"), policy: FlushPolicy(),
                    now: 100, lease: Lease(holder: "A", until: 130))
                try await a.markLive(batchID: "bat_\(index)", upstreamID: "up_\(index)", upstreamStatus: .validating,
                                     nextPollAt: 200 + Double(index), now: 100)
            }
            #expect(try await a.nextPollAt() == 200)
            #expect(try await a.claimDuePolls(now: 199, lease: Lease(holder: "A", until: 230), limit: 10).isEmpty, "none due yet")
            let first = try await a.claimDuePolls(now: 201, lease: Lease(holder: "A", until: 231), limit: 10)
            #expect(first.map(\.id).sorted() == ["bat_0", "bat_1"], "the two due, not the one due later")
            #expect(try await b.claimDuePolls(now: 202, lease: Lease(holder: "B", until: 232), limit: 10).map(\.id) == ["bat_2"])
            try await a.recordPoll(batchID: "bat_0", progress: BatchProgress(status: .inProgress), nextPollAt: 260)
            // A dies holding bat_1: B takes it when the lease runs out, and bat_0 when it is due (with
            // bat_2, whose own lease B let run out).
            #expect(try await b.claimDuePolls(now: 230, lease: Lease(holder: "B", until: 260), limit: 10).isEmpty)
            #expect(try await b.claimDuePolls(now: 231, lease: Lease(holder: "B", until: 261), limit: 10).map(\.id) == ["bat_1"])
            #expect(try await b.claimDuePolls(now: 260, lease: Lease(holder: "B", until: 290), limit: 10).map(\.id).sorted() == ["bat_0", "bat_2"])
            try await b.endBatch(batchID: "bat_1", progress: BatchProgress(status: .completed), now: 262)
            #expect(
                try await a.claimDuePolls(now: 10_000, lease: Lease(holder: "A", until: 10_030), limit: 10).map(\.id).sorted()
                    == ["bat_0", "bat_2"], "an ended batch is never polled again")
        }
    }

    @Test(arguments: StoreKind.available)
    func deliveriesAreLeasedToOneClaimerAndRedelivered(kind: StoreKind) async throws {
        try await StoreHarness.with(kind, instances: 3) { stores in
            let store = stores[0]
            for index in 0..<40 { _ = try await store.accept(T.new("dfr_\(index)", callback: "https://example.com/\(index)")) }
            _ = try await store.claimBatch(id: "bat_1", group: T.group, policy: FlushPolicy(), now: 100, lease: T.lease)
            let response = StoredResponse(statusCode: 200, requestID: "r", body: Array("{}".utf8))
            let finish = RequestFinish(status: .completed, response: response, error: nil, usage: nil, servedBy: .batch, deliveryDue: true)
            _ = try await store.settle(batchID: "bat_1", (0..<40).map { ("dfr_\($0)", .finish(finish)) }, now: 200)
            #expect(try await store.nextDeliveryAt() == 200)
            let claims = Collected<[String]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for claimer in 0..<6 {
                    group.addTask {
                        while true {
                            let jobs = try await stores[claimer % 3].claimDeliveries(now: 201, limit: 3, lease: 30)
                            guard !jobs.isEmpty else { return }
                            await claims.change { $0 += jobs.map(\.request.id) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let ids = await claims.value
            #expect(ids.count == 40 && Set(ids).count == 40, "each callback claimed by one claimer")
            #expect(try await store.claimDeliveries(now: 230, limit: 100, lease: 30).isEmpty, "leased until 231")
            try await store.recordDelivery(id: "dfr_0", status: .delivered, statusCode: 204, error: nil, next: nil)
            try await store.recordDelivery(id: "dfr_1", status: .pending, statusCode: 500, error: "HTTP 500", next: 240)
            // The other 38 never reported (their dispatcher died): taken again once the lease is over.
            let again = try await store.claimDeliveries(now: 231, limit: 100, lease: 30)
            #expect(again.count == 38 && !again.contains { $0.request.id == "dfr_0" || $0.request.id == "dfr_1" })
            let retry = try #require(try await store.claimDeliveries(now: 240, limit: 100, lease: 30).first)
            #expect(retry.request.id == "dfr_1" && retry.seriesAttempts == 1 && retry.request.delivery.lastStatusCode == 500)
            guard case .queued = try await Redelivery.redeliver(id: "dfr_0", owner: "o", now: 300, store: store) else {
                Issue.record("not queued")
                return
            }
            #expect(try await Redelivery.redeliver(id: "dfr_0", owner: "p", now: 300, store: store) == .notFound)
            #expect(
                try await store.restartDelivery(id: "dfr_2", owner: "o", expected: .failed, now: 300) == false,
                "the guard: it completed, not failed")
            let redelivered = try await store.claimDeliveries(now: 300, limit: 100, lease: 30).filter { $0.request.id == "dfr_0" }
            #expect(redelivered.first?.seriesAttempts == 0 && redelivered.first?.request.delivery.attempts == 1)
        }
    }
}

/// What concurrent claimers report, gathered in one place.
actor Collected<Value: Sendable> {
    var value: Value
    init(_ value: Value) { self.value = value }
    func change(_ update: @Sendable (inout Value) -> Void) { update(&value) }
}
