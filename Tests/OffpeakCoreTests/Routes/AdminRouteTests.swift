import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OffpeakCore
import OffpeakGateway
import OffpeakTestSupport
import Testing

/// The operator API in process: who may use it, the queues with pause and resume, and usage
/// over every key.
@Suite struct AdminRouteTests {
    typealias R = RouteTesting

    static func get(_ client: some TestClientProtocol, _ path: String, key: String? = nil) async throws -> TestResponse {
        try await client.execute(uri: path, method: .get, headers: key.map { [.authorization: "Bearer \($0)"] } ?? [:])
    }

    static func post(_ client: some TestClientProtocol, _ path: String, _ body: String, key: String? = "sk-admin") async throws
        -> TestResponse
    {
        try await client.execute(
            uri: path, method: .post, headers: key.map { [.authorization: "Bearer \($0)"] } ?? [:], body: R.body(body))
    }

    @Test func operatorKeysAloneOpenTheOperatorAPI() async throws {
        let configuration = try R.configuration(clientKeys: ["sk-client"], adminKeys: ["sk-admin"])
        try await R.application(store: MemoryStore(), configuration: configuration).test(.router) { client in
            #expect(try await Self.get(client, "/admin/v1/queues", key: "sk-admin").status == .ok)
            let clientKey = try await Self.get(client, "/admin/v1/queues", key: "sk-client")
            #expect(clientKey.status == .forbidden && R.errorCode(clientKey) == "admin_key_required")
            let none = try await Self.get(client, "/admin/v1/queues")
            #expect(none.status == .unauthorized && R.errorCode(none) == "missing_api_key")
            let unknown = try await Self.get(client, "/admin/v1/usage", key: "sk-guess")
            #expect(unknown.status == .unauthorized && R.errorCode(unknown) == "invalid_api_key")
            let adminOnClientAPI = try await Self.get(client, "/v1/usage", key: "sk-admin")
            #expect(adminOnClientAPI.status == .unauthorized, "an operator key is not a client key")
        }
    }

    @Test(arguments: [("127.0.0.1", HTTPResponse.Status.ok), ("::1", .ok), ("0.0.0.0", .forbidden), ("10.1.2.3", .forbidden)])
    func withoutOperatorKeysOnlyALoopbackGatewayServesIt(host: String, status: HTTPResponse.Status) async throws {
        try await R.application(store: MemoryStore(), configuration: try R.configuration(host: host)).test(.router) { client in
            let answer = try await Self.get(client, "/admin/v1/queues")
            #expect(answer.status == status)
            if status == .forbidden { #expect(R.errorCode(answer) == "admin_key_required") }
        }
    }

    @Test func queuesArePausedAndResumedByGroup() async throws {
        let store = MemoryStore()
        for index in 0..<3 { try await store.acceptChat(id: "dfr_p\(index)", content: "p \(index)", at: Date().timeIntervalSince1970 - 90) }
        _ = try await store.accept(
            NewDeferredRequest(
                record: DeferredRequest(
                    id: "dfr_m", owner: "", endpoint: "/v1/chat/completions", model: "qwen-max", createdAt: Date().timeIntervalSince1970,
                    bodyDigest: "m", bodyBytes: 20),
                body: Array(#"{"model":"qwen-max"}"#.utf8)))
        let configuration = try R.configuration(adminKeys: ["sk-admin"])
        try await R.application(store: store, configuration: configuration).test(.router) { client in
            let listed = try #require(R.json(try await Self.get(client, "/admin/v1/queues", key: "sk-admin"))?["data"] as? [[String: Any]])
            #expect(listed.map { $0["model"] as? String } == ["qwen-max", "qwen-plus"])
            let plus = listed[1]
            #expect(plus["queued"] as? Int == 3 && plus["paused"] as? Bool == false && plus["upstream"] as? String == "default")
            #expect(plus["endpoint"] as? String == "/v1/chat/completions" && (plus["bytes"] as? Int ?? 0) > 0)
            #expect((plus["oldest_age_seconds"] as? Int ?? 0) >= 89)

            let paused = try await Self.post(client, "/admin/v1/queues/pause", #"{"model":"qwen-plus"}"#)
            #expect((R.json(paused)?["data"] as? [[String: Any]])?.map { $0["paused"] as? Bool } == [true])
            #expect(try await store.pausedGroups() == [GroupKey(endpoint: "/v1/chat/completions", model: "qwen-plus")])
            let after = try #require(R.json(try await Self.get(client, "/admin/v1/queues", key: "sk-admin"))?["data"] as? [[String: Any]])
            #expect(after.map { $0["paused"] as? Bool } == [false, true])

            let none = try await Self.post(client, "/admin/v1/queues/pause", #"{"model":"nothing-queued"}"#)
            #expect(none.status == .ok && (R.json(none)?["data"] as? [Any])?.isEmpty == true, "no match: an empty list")
            let resumed = try await Self.post(client, "/admin/v1/queues/resume", "")
            #expect((R.json(resumed)?["data"] as? [[String: Any]])?.count == 2, "an empty body: every group")
            #expect(try await store.pausedGroups().isEmpty)
            let noFlusher = try await Self.post(client, "/admin/v1/queues/flush", "{}")
            #expect(noFlusher.status == .serviceUnavailable)
        }
    }

    @Test(arguments: [
        (#"{"model":3}"#, "model"), (#"{"colour":"blue"}"#, "colour"), (#"{"endpoint":["a"]}"#, "endpoint"), ("not json", nil),
        (#"["model"]"#, nil),
    ])
    func aMalformedBodyIsRefusedNamingTheField(body: String, field: String?) async throws {
        let store = MemoryStore()
        try await store.acceptChat(id: "dfr_1", content: "x", at: 1)
        try await R.application(store: store, configuration: try R.configuration(adminKeys: ["sk-admin"])).test(.router) { client in
            for action in ["pause", "resume", "flush"] {
                let answer = try await Self.post(client, "/admin/v1/queues/\(action)", body)
                #expect(answer.status == .badRequest)
                let error = try #require(R.json(answer)?["error"] as? [String: Any])
                #expect(error["param"] as? String == field && R.errorCode(answer) == "invalid_body")
            }
            #expect(try await store.pausedGroups().isEmpty, "nothing changed")
        }
    }

    @Test func usageOverEveryKeyMayBeGroupedByKey() async throws {
        let store = MemoryStore()
        var records: [UsageRecord] = []
        for (index, key) in ["sk-a", "sk-a", "sk-b"].enumerated() {
            records.append(
                UsageRecord(
                    requestID: "call_\(index)", lane: .realtime, owner: GatewayContext.owner(ofKey: key), model: "qwen-plus",
                    endpoint: "/v1/chat/completions", endedAt: Int64(Date().timeIntervalSince1970), completed: true,
                    usage: TokenUsage(promptTokens: 10, completionTokens: 5), cost: nil))
        }
        try await store.record(records)
        try await R.application(store: store, configuration: try R.configuration(clientKeys: ["sk-a", "sk-b"])).test(.router) { client in
            let report = try #require(R.json(try await Self.get(client, "/admin/v1/usage?group_by=key")))
            let rows = try #require(report["data"] as? [[String: Any]])
            let labels = ["sk-a", "sk-b"].map { "key_" + GatewayContext.owner(ofKey: $0).prefix(12) }
            #expect(Set(rows.map { $0["key"] as? String ?? "" }) == Set(labels))
            #expect(rows.first { $0["key"] as? String == labels[0] }?["requests"] as? Int == 2)
            let text = String(buffer: try await Self.get(client, "/admin/v1/usage?group_by=key").body)
            #expect(!text.contains("sk-a") && !text.contains(GatewayContext.owner(ofKey: "sk-a")), "labels, never keys or whole hashes")
        }
    }
}

extension AdminRouteTests {
    @Test func batchesAreListedAndLookedUpWithBadParametersRefusedByName() async throws {
        let store = MemoryStore()
        try await store.acceptChat(id: "dfr_1", content: "x", at: 1)
        let lease = Lease(holder: "t", until: .infinity)
        _ = try await store.claimBatch(
            id: "bat_1", group: GroupKey(endpoint: "/v1/chat/completions", model: "qwen-plus"), policy: FlushPolicy(), now: 2, lease: lease)
        try await R.application(store: store, configuration: try R.configuration()).test(.router) { client in
            let list = try #require(R.json(try await Self.get(client, "/admin/v1/batches?status=preparing&limit=5")))
            let data = try #require(list["data"] as? [[String: Any]])
            #expect(data.map { $0["id"] as? String } == ["bat_1"] && list["has_more"] as? Bool == false)
            let batch = data[0]
            #expect(batch["object"] as? String == "offpeak.batch" && batch["status"] as? String == "preparing")
            #expect(batch["name"] as? String == "offpeak qwen-plus 1 request" && batch["upstream"] as? String == "default")
            #expect((batch["request_counts"] as? [String: Int]) == ["total": 1, "completed": 0, "failed": 0])
            let one = try await Self.get(client, "/admin/v1/batches/bat_1")
            #expect(one.status == .ok && R.json(one)?["id"] as? String == "bat_1")
            let missing = try await Self.get(client, "/admin/v1/batches/bat_nope")
            #expect(missing.status == .notFound && R.errorCode(missing) == "batch_not_found")
            for (query, parameter) in [("status=done", "status"), ("limit=0", "limit"), ("limit=many", "limit"), ("limit=101", "limit")] {
                let bad = try await Self.get(client, "/admin/v1/batches?" + query)
                #expect(bad.status == .badRequest && (R.json(bad)?["error"] as? [String: Any])?["param"] as? String == parameter)
            }
        }
    }

    @Test func statsAndTracesAnswerByModelAndByID() async throws {
        let store = MemoryStore()
        try await store.acceptChat(id: "dfr_1", content: "x", at: Date().timeIntervalSince1970)
        try await R.application(store: store, configuration: try R.configuration()).test(.router) { client in
            let stats = try #require(R.json(try await Self.get(client, "/admin/v1/stats")))
            let rows = try #require(stats["data"] as? [[String: Any]])
            #expect(rows.map { $0["model"] as? String } == ["qwen-plus"] && rows[0]["queued_now"] as? Int == 1)
            #expect((rows[0]["seconds_to_result"] as? [String: Any])?["p95"] is NSNull && rows[0]["failure_rate"] as? Int == 0)
            let bad = try await Self.get(client, "/admin/v1/stats?from=200&to=100")
            #expect(bad.status == .badRequest && (R.json(bad)?["error"] as? [String: Any])?["param"] as? String == "from")
            let trace = try #require(R.json(try await Self.get(client, "/admin/v1/requests/dfr_1")))
            #expect(trace["id"] as? String == "dfr_1" && (trace["trace"] as? [Any])?.isEmpty == true, "queued: no placement yet")
            let missing = try await Self.get(client, "/admin/v1/requests/dfr_none")
            #expect(missing.status == .notFound && R.errorCode(missing) == "deferred_request_not_found")
        }
    }

    @Test func callbacksAreListedAndAnyClientsRedelivered() async throws {
        let store = MemoryStore()
        let owner = GatewayContext.owner(ofKey: "sk-client")
        _ = try await store.accept(
            NewDeferredRequest(
                record: DeferredRequest(
                    id: "dfr_cb", owner: owner, endpoint: "/v1/chat/completions", model: "qwen-plus", createdAt: 1,
                    callbackURL: "https://example.com/hook", bodyDigest: "d", bodyBytes: 2, delivery: DeliveryState(status: .pending)),
                body: Array("{}".utf8)))
        let configuration = try R.configuration(clientKeys: ["sk-client"], adminKeys: ["sk-admin"])
        try await R.application(store: store, configuration: configuration).test(.router) { client in
            let listed = try #require(R.json(try await Self.get(client, "/admin/v1/deliveries?status=pending", key: "sk-admin")))
            #expect((listed["data"] as? [[String: Any]])?.map { $0["id"] as? String } == ["dfr_cb"])
            let bad = try await Self.get(client, "/admin/v1/deliveries?status=lost", key: "sk-admin")
            #expect(bad.status == .badRequest && (R.json(bad)?["error"] as? [String: Any])?["param"] as? String == "status")
            let early = try await Self.post(client, "/admin/v1/requests/dfr_cb/redeliver", "")
            #expect(early.status == .conflict && R.errorCode(early) == "not_finished", "another client's request, found and judged")
            let group = GroupKey(endpoint: "/v1/chat/completions", model: "qwen-plus")
            _ = try await store.claimBatch(id: "bat_1", group: group, policy: FlushPolicy(), now: 2, lease: Lease(holder: "t", until: .infinity))
            let member = try #require(try await store.pendingMembers(batchID: "bat_1")["dfr_cb"])
            let answer = StoredResponse(statusCode: 200, requestID: nil, body: Array("{}".utf8))
            _ = try await store.settle(batchID: "bat_1", [("dfr_cb", Settlement(.complete(answer, nil), member: member))], now: 3)
            try await store.recordDelivery(id: "dfr_cb", status: .failed, statusCode: 500, error: "down", next: nil)
            let again = try await Self.post(client, "/admin/v1/requests/dfr_cb/redeliver", "")
            #expect(again.status == .accepted && (R.json(again)?["delivery"] as? [String: Any])?["status"] as? String == "pending")
            let missing = try await Self.post(client, "/admin/v1/requests/dfr_none/redeliver", "")
            #expect(missing.status == .notFound)
        }
    }
}
