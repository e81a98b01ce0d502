import Foundation
import NIOCore
import OffpeakCore
import Synchronization
import Testing

/// Every store operation, run against SQLite and PostgreSQL alike: the workers see only the
/// protocol, so both stores must answer it the same way.
@Suite struct StoreConformanceTests {
    static let group = GroupKey(endpoint: "/v1/chat/completions", model: "qwen-plus")
    static let lease = Lease(holder: "wrk_test", until: 1_000_000)

    static func new(
        _ id: String, owner: String = "o", model: String = "qwen-plus", at time: Timestamp = 1000, key: String? = nil,
        body: String = #"{"model":"qwen-plus"}"#, callback: String? = nil
    ) -> NewDeferredRequest {
        NewDeferredRequest(
            record: DeferredRequest(
                id: id, owner: owner, endpoint: "/v1/chat/completions", model: model, createdAt: time, callbackURL: callback,
                idempotencyKey: key, bodyDigest: String(body.hashValue), bodyBytes: body.utf8.count,
                delivery: DeliveryState(status: callback == nil ? .none : .pending)),
            body: Array(body.utf8))
    }

    @Test(arguments: StoreKind.available)
    func acceptsAndFindsByOwnerOnly(kind: StoreKind) async throws {
        try await StoreHarness.with(kind, instances: 2) { stores in
            guard case .created = try await stores[0].accept(Self.new("dfr_1")) else { Issue.record("not created"); return }
            #expect(try await stores[0].request(id: "dfr_1", owner: "o")?.status == .queued)
            #expect(try await stores[0].request(id: "dfr_1", owner: "someone else") == nil)
            #expect(try await stores[1].request(id: "dfr_1", owner: "o") != nil, "committed: another connection sees it")
            try await stores[1].ping()
        }
    }

    @Test(arguments: StoreKind.available)
    func idempotencyKeysAreScopedToTheOwner(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            _ = try await store.accept(Self.new("dfr_1", key: "k"))
            guard case .existing(let same) = try await store.accept(Self.new("dfr_2", key: "k")) else {
                Issue.record("expected the first")
                return
            }
            #expect(same.id == "dfr_1")
            guard case .conflict = try await store.accept(Self.new("dfr_3", key: "k", body: #"{"model":"other"}"#)) else {
                Issue.record("expected a conflict")
                return
            }
            guard case .created = try await store.accept(Self.new("dfr_4", owner: "p", key: "k")) else {
                Issue.record("another owner's key")
                return
            }
            #expect(try await store.request(id: "dfr_2", owner: "o") == nil)
        }
    }

    @Test(arguments: StoreKind.available)
    func concurrentAcceptsAreEachCommittedAndOneKeyCreatesOnce(kind: StoreKind) async throws {
        try await StoreHarness.with(kind, instances: 2) { stores in
            let results = try await withThrowingTaskGroup(of: AcceptResult.self) { group in
                for index in 0..<200 {
                    // Every fifth carries the same key: one of them creates, the others find it.
                    let key = index % 5 == 0 ? "shared" : nil
                    group.addTask { try await stores[index % 2].accept(Self.new("dfr_\(index)", key: key)) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            var created = 0
            var existing = Set<String>()
            for result in results {
                switch result {
                case .created: created += 1
                case .existing(let first): existing.insert(first.id)
                case .conflict: Issue.record("same body, no conflict")
                }
            }
            #expect(created == 161, "160 without a key and one with it")
            #expect(existing.count == 1, "the 39 repeats all name the one that was created")
            #expect(try await stores[1].backlogs().first?.count == 161)
        }
    }

    @Test(arguments: StoreKind.available)
    func listsNewestFirstByPageAndFilter(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            for index in 0..<5 { _ = try await store.accept(Self.new("dfr_\(index)", model: index % 2 == 0 ? "a" : "b")) }
            _ = try await store.accept(Self.new("dfr_x", owner: "p"))
            let first = try await store.list(ListQuery(owner: "o", limit: 2))
            #expect(first.data.map(\.id) == ["dfr_4", "dfr_3"] && first.hasMore)
            let second = try await store.list(ListQuery(owner: "o", limit: 2, after: "dfr_3"))
            #expect(second.data.map(\.id) == ["dfr_2", "dfr_1"] && second.hasMore)
            let last = try await store.list(ListQuery(owner: "o", limit: 2, after: "dfr_1"))
            #expect(last.data.map(\.id) == ["dfr_0"] && !last.hasMore)
            #expect(try await store.list(ListQuery(owner: "o", model: "a", limit: 10)).data.map(\.id) == ["dfr_4", "dfr_2", "dfr_0"])
            _ = try await store.cancel(id: "dfr_1", owner: "o", now: 2)
            #expect(try await store.list(ListQuery(owner: "o", status: .cancelled, limit: 10)).data.map(\.id) == ["dfr_1"])
        }
    }

    @Test(arguments: StoreKind.available)
    func claimsTheOldestWithinTheLimitsAndSumsTheBacklog(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            for index in 0..<5 { _ = try await store.accept(Self.new("dfr_\(index)", at: 1000 + Double(index))) }
            _ = try await store.accept(Self.new("dfr_other", model: "qwen-max"))
            let backlogs = try await store.backlogs()
            let plus = try #require(backlogs.first { $0.key == Self.group })
            #expect(plus.count == 5)
            #expect(plus.oldestCreatedAt == 1000)
            #expect(plus.lineBytes == 5 * BatchLine.size(id: "dfr_0", endpoint: Self.group.endpoint, bodyBytes: 21))

            let batch = try #require(
                try await store.claimBatch(id: "bat_1", group: Self.group, policy: FlushPolicy(maxRequests: 3), now: 2000, lease: Self.lease))
            #expect(batch.requestCount == 3)
            let file = try await store.batchFile(batchID: "bat_1", after: 0, limit: 10)
            #expect(file?.bytes.readableBytes == batch.fileBytes, "the file is the size the claim announced")
            let (lines, last) = try await store.batchLines(batchID: "bat_1")
            #expect(lines.map(\.id) == ["dfr_0", "dfr_1", "dfr_2"] && last == 3)
            #expect(lines.first?.body == Array(#"{"model":"qwen-plus"}"#.utf8))
            #expect(try await store.batchLines(batchID: "bat_1", after: 2).lines.map(\.id) == ["dfr_2"])
            #expect(try await store.batchLines(batchID: "bat_1", after: 0, limit: 2).lastLine == 2)
            #expect(try await store.batchFile(batchID: "bat_1", after: 3, limit: 10) == nil, "past the last line")
            let claimed = try #require(try await store.request(id: "dfr_0", owner: "o"))
            #expect(claimed.status == .submitted && claimed.attempts == 1 && claimed.batchID == "bat_1")
            #expect(try await store.backlogs().first { $0.key == Self.group }?.count == 2)
            #expect(try await store.batches(in: .preparing).map(\.id) == ["bat_1"])
        }
    }

    /// SQLite claims in slices of 2,000 rows: a claim of several slices numbers its lines densely
    /// in queue order, stops where the policy's byte limit falls inside a slice, and the batch's
    /// counts are its file's. It reports its plan and each slice as it commits.
    @Test(arguments: StoreKind.available)
    func aClaimOfSeveralSlicesIsOneDenseFileInQueueOrder(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            let total = 4_700
            // Concurrent, as 64 clients would send them: thousands at once would each wait for a
            // connection past intake's 5 s deadline on a loaded machine.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<total {
                    if index >= 64 { try await group.next() }
                    group.addTask { _ = try await store.accept(Self.new("dfr_\(index)", at: 1000 + Double(index))) }
                }
                try await group.waitForAll()
            }
            _ = try await store.cancel(id: "dfr_2500", owner: "o", now: 1500)
            // Queue order is acceptance order (seq), which concurrent accepts do not make index order.
            let queued = try await store.list(ListQuery(owner: "o", limit: total)).data.reversed().map(\.id).filter { $0 != "dfr_2500" }
            let size = { (id: String) in BatchLine.size(id: id, endpoint: Self.group.endpoint, bodyBytes: 21) }
            let bytesOfFirst3100 = queued.prefix(3_100).map(size).reduce(0, +)

            let reported = Mutex<[ClaimProgress]>([])
            let first = try #require(
                try await store.claimBatch(
                    id: "bat_1", group: Self.group, policy: FlushPolicy(maxRequests: 4_500, maxBytes: bytesOfFirst3100), now: 2000,
                    lease: Self.lease, progress: { progress in reported.withLock { $0.append(progress) } }))
            if kind == .sqlite {
                // What the flusher's early upload goes by: the file's size before any row is marked,
                // then each slice's lines once they are final (the first slice small, for the upload to start soon).
                let bytes = { (lines: Int) in queued.prefix(lines).map(size).reduce(0, +) }
                let expected: [ClaimProgress] = [
                    .planned(lines: 3_100, bytes: bytesOfFirst3100), .committed(lines: 500, bytes: bytes(500)),
                    .committed(lines: 2_500, bytes: bytes(2_500)), .committed(lines: 3_100, bytes: bytesOfFirst3100),
                ]
                #expect(reported.withLock { $0 } == expected)
            } else {
                #expect(reported.withLock { $0 }.isEmpty, "claimed in one step: nothing to report before it ends")
            }
            let second = try #require(
                try await store.claimBatch(id: "bat_2", group: Self.group, policy: FlushPolicy(maxRequests: 1_500), now: 2001, lease: Self.lease))
            for (batch, expected) in [(first, Array(queued.prefix(3_100))), (second, Array(queued.dropFirst(3_100).prefix(1_500)))] {
                let (lines, last) = try await store.batchLines(batchID: batch.id, after: 0, limit: total)
                #expect(batch.requestCount == expected.count && last == expected.count, "\(batch.id)")
                #expect(lines.map(\.id) == expected, "\(batch.id): the oldest, dense, in queue order")
                #expect(batch.fileBytes == expected.map(size).reduce(0, +))
                var bytes = 0
                var after = 0
                while let chunk = try await store.batchFile(batchID: batch.id, after: after, limit: 1_000) {
                    bytes += chunk.bytes.readableBytes
                    after = chunk.lastLine
                }
                #expect(bytes == batch.fileBytes, "the file is the size the claim announced")
                #expect(try await store.batch(id: batch.id)?.requestCount == expected.count)
            }
            #expect(try await store.backlogs().first { $0.key == Self.group }?.count == total - 1 - 4_600)
        }
    }

    @Test(arguments: StoreKind.available)
    func settlingTwiceChangesNothingAndRequeueingRefunds(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            for index in 0..<3 { _ = try await store.accept(Self.new("dfr_\(index)")) }
            _ = try await store.accept(Self.new("dfr_cb", callback: "https://example.com/hook"))
            _ = try await store.claimBatch(id: "bat_1", group: Self.group, policy: FlushPolicy(), now: 2000, lease: Self.lease)
            try await store.markLive(batchID: "bat_1", upstreamID: "batch_up", upstreamStatus: .validating, nextPollAt: 2000, now: 2000)
            #expect(try await store.request(id: "dfr_0", owner: "o")?.upstreamBatchID == "batch_up")
            #expect(try await store.pendingMembers(batchID: "bat_1")["dfr_2"] == BatchMember(line: 3, attempts: 1))
            #expect(try await store.pendingMembers(batchID: "bat_1")["dfr_cb"]?.hasCallback == true)
            let response = StoredResponse(statusCode: 200, requestID: "r", body: Array(#"{"id":"x"}"#.utf8))
            let failure = StoredResponse(statusCode: 400, requestID: nil, body: Array(#"{"error":{}}"#.utf8))
            let cost = Cost(
                currency: "USD", lane: .batch, priced: true, billed: Money(picos: 1_234_567), atListPrice: Money(picos: 2_469_134))
            let done = RequestFinish(
                status: .completed, response: response, error: nil,
                usage: TokenUsage(promptTokens: 5, completionTokens: 7, cachedTokens: 2, reasoningTokens: 3), servedBy: .batch,
                deliveryDue: false, cost: cost)
            let refused = RequestFinish(
                status: .failed, response: failure, error: DeferredError(code: "invalid_request", message: "bad"), usage: nil,
                servedBy: .batch, deliveryDue: true)
            let settlements: [(id: String, settlement: Settlement)] = [
                ("dfr_0", .finish(done)), ("dfr_1", .requeue(reason: DeferredError(code: "batch_failed", message: "m"), refund: true)), ("dfr_2", .requeue(reason: DeferredError(code: "upstream_status_500", message: "m"), refund: false)),
                ("dfr_cb", .finish(refused)),
            ]
            let first = try await store.settle(batchID: "bat_1", settlements, now: 3000)
            #expect(first == ["dfr_0", "dfr_cb"])
            let completed = try await store.request(id: "dfr_0", owner: "o")
            #expect(completed?.usage == TokenUsage(promptTokens: 5, completionTokens: 7, cachedTokens: 2, reasoningTokens: 3))
            #expect(completed?.response == response && completed?.error == nil)
            let failed = try await store.request(id: "dfr_cb", owner: "o")
            #expect(failed?.status == .failed && failed?.error == DeferredError(code: "invalid_request", message: "bad"))
            #expect(failed?.response == failure && failed?.usage == nil && failed?.delivery.status == .pending)
            #expect(failed?.servedBy == .batch && completed?.servedBy == .batch)
            #expect(completed?.cost == cost, "the cost is kept with the request, to the pico-unit")
            #expect(failed?.cost == nil)
            #expect(try await store.nextDeliveryAt() == 3000, "the failed request's callback is due")
            let second = try await store.settle(batchID: "bat_1", settlements, now: 4000)
            #expect(second.isEmpty)
            #expect(try await store.request(id: "dfr_0", owner: "o")?.completedAt == 3000)
            #expect(try await store.request(id: "dfr_1", owner: "o")?.attempts == 0)
            #expect(try await store.request(id: "dfr_2", owner: "o")?.attempts == 1)
            #expect(try await store.request(id: "dfr_2", owner: "o")?.status == .queued)
            #expect(try await store.pendingMembers(batchID: "bat_1").isEmpty)
            try await store.endBatch(batchID: "bat_1", progress: BatchProgress(status: .completed), now: 4000)
            #expect(try await store.batches(in: .ended).map(\.upstreamStatus) == [.completed])
        }
    }

    @Test(arguments: StoreKind.available)
    func realTimeAnswersApplyOnlyToTheStateTheyExpect(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            _ = try await store.accept(Self.new("dfr_b"))
            _ = try await store.claimBatch(id: "bat_1", group: Self.group, policy: FlushPolicy(maxRequests: 1), now: 2000, lease: Self.lease)
            _ = try await store.accept(Self.new("dfr_w"))
            _ = try await store.accept(Self.new("dfr_q"))
            let answer = StoredResponse(
                statusCode: 200, requestID: "r", body: Array(#"{"usage":{"prompt_tokens":3,"completion_tokens":4}}"#.utf8))
            let prices = PriceTable(models: [("qwen-*", ModelPrice(input: 1, output: 2))])
            let finish = RequestFinish.realtime(answer, reason: "deadline", hasCallback: false, model: "qwen-plus", prices: prices)

            #expect(try await store.recordRealtimeAnswer(id: "dfr_q", .result(finish), now: 2100) == false, "not withdrawn")
            let queued = try await store.request(id: "dfr_q", owner: "o")
            #expect(queued?.status == .queued && queued?.response == nil && queued?.servedBy == nil)

            #expect(try await store.withdraw(id: "dfr_w", now: 2100, reason: "deadline"))
            #expect(try await store.withdraw(id: "dfr_w", now: 2101, reason: "deadline") == false, "withdrawn once")
            #expect(try await store.withdraw(id: "dfr_b", now: 2101, reason: "deadline") == false, "in a batch")
            #expect(try await store.backlogs().first?.count == 1, "a withdrawn request is never batched")
            #expect(try await store.recordRealtimeAnswer(id: "dfr_w", .result(finish), now: 2102))
            let withdrawn = try await store.request(id: "dfr_w", owner: "o")
            #expect(withdrawn?.status == .completed && withdrawn?.response == answer && withdrawn?.completedAt == 2102)
            #expect(withdrawn?.usage == TokenUsage(promptTokens: 3, completionTokens: 4))
            #expect(withdrawn?.servedBy == .realtimeFallback && withdrawn?.servedReason == "deadline")
            // 3 × 1 + 4 × 2 = 11 per million tokens, at the real-time price.
            #expect(withdrawn?.cost?.lane == .realtime && withdrawn?.cost?.billed == Money(picos: 11_000_000))
            #expect(try await store.recordRealtimeAnswer(id: "dfr_w", .noted(finish), now: 2103) == false, "it has ended")

            var alsoInBatch = finish
            alsoInBatch.servedReason = "deadline: also in a batch"
            #expect(try await store.recordRealtimeAnswer(id: "dfr_b", .noted(alsoInBatch), now: 2103))
            let inBatch = try await store.request(id: "dfr_b", owner: "o")
            #expect(inBatch?.status == .submitted && inBatch?.response == nil && inBatch?.servedBy == .realtimeFallback)
            #expect(inBatch?.servedReason == "deadline: also in a batch")
            #expect(try await store.pendingMembers(batchID: "bat_1")["dfr_b"]?.servedBy == .realtimeFallback)
        }
    }

    @Test(arguments: StoreKind.available)
    func abandoningABatchReturnsItsRequestsToTheQueue(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            _ = try await store.accept(Self.new("dfr_1"))
            _ = try await store.claimBatch(id: "bat_1", group: Self.group, policy: FlushPolicy(), now: 2000, lease: Self.lease)
            try await store.recordUpload(batchID: "bat_1", inputFileID: "file-1")
            #expect(try await store.batches(in: .preparing).map(\.inputFileID) == ["file-1"])
            try await store.abandon(batchID: "bat_1", now: 2001)
            let request = try #require(try await store.request(id: "dfr_1", owner: "o"))
            #expect(request.status == .queued && request.attempts == 0 && request.batchID == nil)
            #expect(try await store.batches(in: .abandoned).map(\.id) == ["bat_1"])
        }
    }

    @Test(arguments: StoreKind.available)
    func cancelsOnlyWhatIsQueued(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            _ = try await store.accept(Self.new("dfr_1"))
            _ = try await store.accept(Self.new("dfr_2"))
            #expect(try await store.cancel(id: "dfr_1", owner: "x", now: 1) == .notFound)
            guard case .cancelled(let cancelled) = try await store.cancel(id: "dfr_1", owner: "o", now: 1) else {
                Issue.record("not cancelled")
                return
            }
            #expect(cancelled.status == .cancelled)
            _ = try await store.claimBatch(id: "bat_1", group: Self.group, policy: FlushPolicy(), now: 2, lease: Self.lease)
            guard case .notQueued(let submitted) = try await store.cancel(id: "dfr_2", owner: "o", now: 3) else {
                Issue.record("cancelled late")
                return
            }
            #expect(submitted.status == .submitted)
            #expect(
                try await store.batchLines(batchID: "bat_1").lines.map(\.id) == ["dfr_2"],
                "a cancelled request is never claimed")
        }
    }

    @Test(arguments: StoreKind.available)
    func pausedGroupsAreSeenByEveryInstanceUntilResumed(kind: StoreKind) async throws {
        try await StoreHarness.with(kind, instances: 2) { stores in
            let max = GroupKey(endpoint: "/v1/chat/completions", model: "qwen-max")
            try await stores[0].setPaused([Self.group, max], paused: true, now: 1)
            try await stores[0].setPaused([Self.group], paused: true, now: 2)
            #expect(try await stores[1].pausedGroups() == [Self.group, max])
            try await stores[1].setPaused([max], paused: false, now: 3)
            try await stores[1].setPaused([max], paused: false, now: 4)
            #expect(try await stores[0].pausedGroups() == [Self.group])
        }
    }

    @Test(arguments: StoreKind.available)
    func settingsKeepTheirFirstValue(kind: StoreKind) async throws {
        try await StoreHarness.with(kind, instances: 2) { stores async throws in
            #expect(try await stores[0].setting("k", default: "first") == "first")
            #expect(try await stores[1].setting("k", default: "second") == "first")
        }
    }
}
