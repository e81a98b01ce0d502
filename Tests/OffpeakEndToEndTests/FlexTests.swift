import Foundation
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// The flex lane: a policy sends its calls at once with
/// `service_tier: "flex"` to an upstream that sells it, retries 429s until the rule's deadline,
/// then falls back as the rule says; answers carry `Offpeak-Served-By: flex` and are priced at
/// the batch rate.
@Suite struct FlexTests {
    static func config(_ upstream: String) -> String {
        """
        upstreams:
          - name: openai
            url: \(upstream)
            api_key_env: FLEX_KEY
            models: ["qwen-*"]
            flex: true
        policies:
          - name: flex-or-nothing
            match: {keys: ["key-never"]}
            action: flex
            deadline: 2
            fallback: never
          - name: flex-jobs
            match: {keys: ["key-flex"]}
            action: flex
            deadline: 3
            fallback: when-queued
        """
    }

    func call(_ cluster: Cluster, key: String, _ text: String) async throws -> TestHTTP.Answer {
        try await TestHTTP.post(
            cluster.v1 + "/chat/completions", json: chatBody(model: "qwen-plus", text), headers: [("Authorization", "Bearer \(key)")])
    }

    func fault(_ cluster: Cluster, count: Int) async throws {
        _ = try await TestHTTP.post(
            cluster.simulator.url + "/sim/faults", json: ["endpoint": "flex", "status": 429, "count": count, "retry_after": 0.2])
    }

    @Test func flexCallsAreRetriedUntilTheDeadlineThenFallBack() async throws {
        let cluster = try await Cluster(
            name: "flex", gateway: ["FLEX_KEY": "sk-upstream", "OFFPEAK_UPSTREAM_API_KEY": "", "OFFPEAK_API_KEYS": "key-flex,key-never"],
            config: Self.config)
        let first = try await call(cluster, key: "key-flex", "summarise this")
        #expect(first.status == 200 && first.headers["Offpeak-Served-By"].first == "flex", "\(first.text)")
        #expect(first.json?["service_tier"] as? String == "flex", "sent with service_tier flex")

        try await fault(cluster, count: 2)
        let retried = try await call(cluster, key: "key-flex", "after two 429s")
        #expect(retried.status == 200 && retried.headers["Offpeak-Served-By"].first == "flex", "429s retried within the deadline")

        try await fault(cluster, count: 1000)
        let fallback = try await call(cluster, key: "key-flex", "flex never answers")
        #expect(fallback.status == 200 && fallback.headers["Offpeak-Served-By"].first == "realtime-fallback")
        #expect(fallback.json?["service_tier"] == nil, "the fallback is an ordinary real-time call")
        let refused = try await call(cluster, key: "key-never", "no fallback")
        #expect(refused.status == 504 && refused.errorCode == "flex_deadline")
        try await fault(cluster, count: 0)

        let usage = try await TestHTTP.get(cluster.v1 + "/usage?group_by=lane", headers: [("Authorization", "Bearer key-flex")])
            .json?["data"] as? [[String: Any]] ?? []
        let flex = try #require(usage.first { $0["lane"] as? String == "flex" })
        #expect(flex["requests"] as? Int == 2, "the two flex answers, in the flex lane")
        let billed = Decimal(string: "\(flex["billed"] ?? "")") ?? -1
        let list = Decimal(string: "\(flex["at_list_price"] ?? "")") ?? -1
        #expect(billed > 0 && billed * 2 == list, "priced at the batch rate: \(flex)")
    }
}
