import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OffpeakCore
import OffpeakGateway
import Testing

/// `GET /v1/usage` in process: a client key's own traffic, grouped as asked, and bad parameters
/// refused with an error naming them.
@Suite struct UsageRouteTests {
    typealias R = RouteTesting
    static let keys = ["sk-alpha", "sk-beta"]
    static let day: Int64 = 20_422  // 2025-11-30

    static func record(_ id: String, key: String, model: String, lane: Lane, at second: Int64, completed: Bool = true) -> UsageRecord {
        let usage = TokenUsage(promptTokens: 1_000, completionTokens: 200, cachedTokens: 100, reasoningTokens: 50)
        return UsageRecord(
            requestID: id, lane: lane, owner: GatewayContext.owner(ofKey: key), model: model, endpoint: "/v1/chat/completions",
            endedAt: Self.day * 86_400 + second, completed: completed, usage: completed ? usage : nil,
            cost: Cost(usage: usage, model: model, lane: lane, completed: completed, prices: .shipped))
    }

    static func get(_ client: some TestClientProtocol, _ query: String, key: String = "sk-alpha") async throws -> TestResponse {
        try await client.execute(uri: "/v1/usage" + query, method: .get, headers: [.authorization: "Bearer \(key)"])
    }

    @Test func aClientSeesItsOwnTrafficGroupedAsAsked() async throws {
        let store = MemoryStore()
        try await store.record([
            Self.record("a1", key: "sk-alpha", model: "qwen-plus", lane: .batch, at: 100),
            Self.record("a2", key: "sk-alpha", model: "qwen-plus", lane: .batch, at: 86_500),
            Self.record("a3", key: "sk-alpha", model: "qwen-plus", lane: .realtime, at: 200),
            Self.record("a4", key: "sk-alpha", model: "qwen-plus", lane: .batch, at: 300, completed: false),
            Self.record("a5", key: "sk-alpha", model: "private-model", lane: .batch, at: 400),
            Self.record("b1", key: "sk-beta", model: "qwen-plus", lane: .batch, at: 100),
        ])
        let configuration = try R.configuration(clientKeys: Self.keys)
        try await R.application(store: store, configuration: configuration).test(.router) { client in
            let from = Self.day * 86_400
            let byDay = try await Self.get(client, "?from=\(from)&to=\(from + 2 * 86_400)&group_by=day,model,lane")
            #expect(byDay.status == .ok)
            let report = try #require(R.json(byDay))
            #expect(report["object"] as? String == "usage_report" && report["currency"] as? String == "USD")
            #expect(report["from"] as? Int == Int(from) && report["to"] as? Int == Int(from) + 2 * 86_400)
            let rows = try #require(report["data"] as? [[String: Any]])
            #expect(rows.map { "\($0["day"]!) \($0["model"]!) \($0["lane"]!)" } == [
                "2025-11-30 private-model batch", "2025-11-30 qwen-plus batch", "2025-11-30 qwen-plus realtime",
                "2025-12-01 qwen-plus batch",
            ])
            #expect(rows[0]["unpriced_requests"] as? Int == 1 && rows[0]["billed"] as? Double == 0)
            #expect(rows[1]["requests"] as? Int == 2 && rows[1]["completed"] as? Int == 1 && rows[1]["failed"] as? Int == 1)
            #expect(rows[1]["upstream"] == nil && rows[1]["key"] == nil, "absent dimensions are omitted")
            // qwen-plus: (900 × 0.4 + 100 × 0.16 + 200 × 1.2) / 10⁶ = 0.000616 at list price; half in the batch lane.
            let text = String(buffer: byDay.body)
            #expect(text.contains(#""billed":0.000308,"at_list_price":0.000616,"saved":0.000308"#))
            let totals = try #require(report["totals"] as? [String: Any])
            #expect(totals["requests"] as? Int == 5 && totals["prompt_tokens"] as? Int == 4_000 && totals["reasoning_tokens"] as? Int == 200)
            #expect(totals["model"] == nil)

            let beta = try #require(R.json(try await Self.get(client, "?from=\(from)&to=\(from + 86_400)", key: "sk-beta")))
            #expect((beta["totals"] as? [String: Any])?["requests"] as? Int == 1, "another key sees only its own")
            let recent = try #require(R.json(try await Self.get(client, "")))
            #expect((recent["to"] as? Int ?? 0) - (recent["from"] as? Int ?? 0) == 30 * 86_400, "the last 30 days by default")
            let anonymous = try await client.execute(uri: "/v1/usage", method: .get)
            #expect(anonymous.status == .unauthorized)
        }
    }

    @Test(arguments: [
        ("?from=yesterday", "from"), ("?to=1.5", "to"), ("?from=-3", "from"), ("?from=200&to=100", "from"),
        ("?from=9223372036854775807", "from"), ("?to=99999999999999", "to"),
        ("?group_by=model,colour", "group_by"), ("?group_by=model,", "group_by"), ("?group_by=key", "group_by"),
        ("?key=key_0123456789ab", "key"),
    ])
    func badParametersAreRefusedByName(query: String, parameter: String) async throws {
        try await R.application(store: MemoryStore(), configuration: try R.configuration()).test(.router) { client in
            let answer = try await client.execute(uri: "/v1/usage" + query, method: .get)
            #expect(answer.status == .badRequest)
            let error = try #require(R.json(answer)?["error"] as? [String: Any])
            #expect(error["param"] as? String == parameter && error["type"] as? String == "invalid_request_error")
            #expect((error["message"] as? String)?.contains(parameter) == true)
        }
    }
}
