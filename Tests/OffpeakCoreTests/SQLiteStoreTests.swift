import Foundation
import OffpeakCore
import OffpeakSQLite
import Testing

/// The SQLite store on a real file.
@Suite final class SQLiteStoreTests {
    let path: String
    let store: SQLiteStore
    let group = GroupKey(endpoint: "/v1/chat/completions", model: "qwen-plus")

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-store-\(UUID().uuidString).sqlite").path
        store = try SQLiteStore(path: path)
    }

    deinit {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    func new(_ id: String, owner: String = "o", model: String = "qwen-plus", at time: Timestamp = 1000, key: String? = nil,
             body: String = #"{"model":"qwen-plus"}"#) -> NewDeferredRequest {
        NewDeferredRequest(
            record: DeferredRequest(
                id: id, owner: owner, endpoint: "/v1/chat/completions", model: model, createdAt: time, idempotencyKey: key,
                bodyDigest: String(body.hashValue), bodyBytes: body.utf8.count),
            body: Array(body.utf8))
    }

    @Test func acceptsAndFindsByOwnerOnly() async throws {
        guard case .created = try await store.accept(new("dfr_1")) else { Issue.record("not created"); return }
        #expect(try await store.request(id: "dfr_1", owner: "o")?.status == .queued)
        #expect(try await store.request(id: "dfr_1", owner: "someone else") == nil)
        // Reopening the file finds it again: it was committed.
        #expect(try await SQLiteStore(path: path).request(id: "dfr_1", owner: "o") != nil)
    }

    @Test func idempotencyKeysAreScopedToTheOwner() async throws {
        _ = try await store.accept(new("dfr_1", key: "k"))
        guard case .existing(let same) = try await store.accept(new("dfr_2", key: "k")) else { Issue.record("expected the first"); return }
        #expect(same.id == "dfr_1")
        guard case .conflict = try await store.accept(new("dfr_3", key: "k", body: #"{"model":"other"}"#)) else {
            Issue.record("expected a conflict")
            return
        }
        guard case .created = try await store.accept(new("dfr_4", owner: "p", key: "k")) else { Issue.record("another owner's key"); return }
        #expect(try await store.request(id: "dfr_2", owner: "o") == nil)
    }

    @Test func claimsTheOldestWithinTheLimitsAndSumsTheBacklog() async throws {
        for index in 0..<5 { _ = try await store.accept(new("dfr_\(index)", at: 1000 + Double(index))) }
        _ = try await store.accept(new("dfr_other", model: "qwen-max"))
        let backlogs = try await store.backlogs()
        let plus = try #require(backlogs.first { $0.key == group })
        #expect(plus.count == 5)
        #expect(plus.oldestCreatedAt == 1000)
        #expect(plus.lineBytes == 5 * BatchLine.size(id: "dfr_0", endpoint: group.endpoint, bodyBytes: 21))

        let batch = try #require(try await store.claimBatch(id: "bat_1", group: group, policy: FlushPolicy(maxRequests: 3), now: 2000))
        #expect(batch.requestCount == 3)
        let lines = try await store.batchLines(batchID: "bat_1", after: 0, limit: 10)
        #expect(lines.map(\.id) == ["dfr_0", "dfr_1", "dfr_2"])
        #expect(lines.map(\.line) == [1, 2, 3])
        #expect(try await store.batchLines(batchID: "bat_1", after: 2, limit: 10).map(\.id) == ["dfr_2"])
        #expect(batch.fileBytes == lines.reduce(0) { $0 + BatchLine.size(id: $1.id, endpoint: $1.endpoint, bodyBytes: $1.body.count) })
        let claimed = try #require(try await store.request(id: "dfr_0", owner: "o"))
        #expect(claimed.status == .submitted && claimed.attempts == 1 && claimed.batchID == "bat_1")
        #expect(try await store.backlogs().first { $0.key == group }?.count == 2)
    }

    @Test func settlingTwiceChangesNothingAndRequeueingRefunds() async throws {
        for index in 0..<3 { _ = try await store.accept(new("dfr_\(index)")) }
        _ = try await store.claimBatch(id: "bat_1", group: group, policy: FlushPolicy(), now: 2000)
        try await store.markLive(batchID: "bat_1", upstreamID: "batch_up", upstreamStatus: "validating", nextPollAt: 2000, now: 2000)
        #expect(try await store.request(id: "dfr_0", owner: "o")?.upstreamBatchID == "batch_up")
        let response = StoredResponse(statusCode: 200, requestID: "r", body: Array(#"{"id":"x"}"#.utf8))
        let outcomes: [(id: String, disposition: RowDisposition)] = [
            ("dfr_0", .complete(response, TokenUsage(promptTokens: 5, completionTokens: 7))),
            ("dfr_1", .requeue(DeferredError(code: "c", message: "m"), refund: true)),
            ("dfr_2", .requeue(DeferredError(code: "c", message: "m"), refund: false)),
        ]
        let first = try await store.settle(batchID: "bat_1", outcomes: outcomes, now: 3000)
        #expect(first == [SettledRequest(id: "dfr_0", status: .completed, hasCallback: false)])
        let completed = try await store.request(id: "dfr_0", owner: "o")
        #expect(completed?.usage == TokenUsage(promptTokens: 5, completionTokens: 7))
        #expect(completed?.response == response)
        let second = try await store.settle(batchID: "bat_1", outcomes: outcomes, now: 4000)
        #expect(second.isEmpty)
        #expect(try await store.request(id: "dfr_0", owner: "o")?.completedAt == 3000)
        #expect(try await store.request(id: "dfr_1", owner: "o")?.attempts == 0)
        #expect(try await store.request(id: "dfr_2", owner: "o")?.attempts == 1)
        #expect(try await store.request(id: "dfr_2", owner: "o")?.status == .queued)
        #expect(try await store.pendingMembers(batchID: "bat_1").isEmpty)
    }

    @Test func abandoningABatchReturnsItsRequestsToTheQueue() async throws {
        _ = try await store.accept(new("dfr_1"))
        _ = try await store.claimBatch(id: "bat_1", group: group, policy: FlushPolicy(), now: 2000)
        #expect(try await store.batches(in: .preparing).map(\.id) == ["bat_1"])
        try await store.abandon(batchID: "bat_1", now: 2001)
        let request = try #require(try await store.request(id: "dfr_1", owner: "o"))
        #expect(request.status == .queued && request.attempts == 0 && request.batchID == nil)
        #expect(try await store.batches(in: .abandoned).map(\.id) == ["bat_1"])
    }

    @Test func cancelsOnlyWhatIsQueued() async throws {
        _ = try await store.accept(new("dfr_1"))
        _ = try await store.accept(new("dfr_2"))
        #expect(try await store.cancel(id: "dfr_1", owner: "x", now: 1) == .notFound)
        guard case .cancelled(let cancelled) = try await store.cancel(id: "dfr_1", owner: "o", now: 1) else { Issue.record("not cancelled"); return }
        #expect(cancelled.status == .cancelled)
        _ = try await store.claimBatch(id: "bat_1", group: group, policy: FlushPolicy(), now: 2)
        guard case .notQueued(let submitted) = try await store.cancel(id: "dfr_2", owner: "o", now: 3) else { Issue.record("cancelled late"); return }
        #expect(submitted.status == .submitted)
        #expect(try await store.batchLines(batchID: "bat_1", after: 0, limit: 10).map(\.id) == ["dfr_2"], "a cancelled request is never claimed")
    }

    @Test func settingsKeepTheirFirstValue() async throws {
        #expect(try await store.setting("k", default: "first") == "first")
        #expect(try await store.setting("k", default: "second") == "first")
    }
}
