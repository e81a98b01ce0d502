import Foundation
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// Anthropic behind the gateway: `/v1/messages` passes through (streams
/// included) and, deferred, goes into Message Batches; each result type takes its documented
/// outcome; the official Anthropic SDK sees nothing but its own API.
@Suite struct AnthropicTests {
    /// One simulator serves both APIs: an OpenAI-compatible upstream and an Anthropic one over it.
    static func config(_ upstream: String) -> String {
        """
        upstreams:
          - name: models
            url: \(upstream)
            api_key_env: MODELS_KEY
            models: ["qwen-*"]
          - name: anthropic
            kind: anthropic
            url: \(upstream)
            api_key_env: ANTHROPIC_KEY
            models: ["claude-*"]
        """
    }

    static func settings(_ extra: [String: String]) -> [String: String] {
        ["MODELS_KEY": "sk-upstream", "ANTHROPIC_KEY": "sk-upstream", "OFFPEAK_UPSTREAM_API_KEY": ""].merging(extra) { $1 }
    }

    static func message(_ text: String) -> [String: Any] {
        ["model": "claude-sonnet-4", "max_tokens": 32, "messages": [["role": "user", "content": text]]]
    }

    func defer_(_ cluster: Cluster, _ texts: [String]) async throws -> [String] {
        var ids: [String] = []
        for text in texts {
            let answer = try await TestHTTP.post(cluster.v1 + "/messages", json: Self.message(text), headers: [("Prefer", "respond-async")])
            #expect(answer.status == 202, "\(answer.text)")
            ids.append(try #require(answer.json?["id"] as? String))
        }
        return ids
    }

    @Test func theOfficialSDKPassesThroughStreamsAndDefers() async throws {
        let cluster = try await Cluster(
            name: "anthropic-sdk", gateway: Self.settings(["OFFPEAK_API_KEYS": "key-sdk", "OFFPEAK_FLUSH_MAX_AGE": "0.2"]),
            config: Self.config)
        let seen = try await PythonEnvironment.shared.runScript("anthropic_client.py", [cluster.gateway.url, "key-sdk"])
        var body = Self.message("Hello from the Anthropic SDK")
        body["max_tokens"] = 64
        let direct = try await TestHTTP.send(
            .POST, cluster.upstream + "/messages", body: Array(try JSONSerialization.data(withJSONObject: body)),
            headers: [("x-api-key", "sk-upstream")])
        let expected = try #require(((direct.json?["content"] as? [[String: Any]])?.first)?["text"] as? String)
        #expect(seen["plain"] as? String == expected && (seen["plain_input_tokens"] as? Int ?? 0) > 0)
        #expect(seen["stream"] as? String == expected, "the stream relayed event by event")
        #expect(seen["deferred_status"] as? Int == 202 && seen["deferred_state"] as? String == "completed")
        #expect(seen["deferred_upstream"] as? String == "anthropic")
        #expect(seen["deferred_result"] as? String == expected && seen["deferred_type"] as? String == "message")
        let batches = try await TestHTTP.get(cluster.upstream + "/messages/batches", headers: [("x-api-key", "sk-upstream")])
            .json?["data"] as? [[String: Any]] ?? []
        #expect(batches.count == 1, "deferred into a Message Batch")
    }

    @Test func eachResultTypeTakesTheContractsOutcome() async throws {
        let cluster = try await Cluster(
            name: "anthropic-outcomes",
            gateway: Self.settings(["OFFPEAK_FLUSH_MAX_AGE": "1", "OFFPEAK_FLUSH_MAX_REQUESTS": "4", "OFFPEAK_MAX_ATTEMPTS": "3"]),
            config: Self.config)
        let ids = try await defer_(
            cluster, ["all is well", "bad request [sim:status=400]", "flaky [sim:status=500,times=1]", "broken [sim:status=500]"])
        let objects = try await cluster.waitTerminal(ids)
        let (fine, invalid, flaky) = (objects[ids[0]] ?? [:], objects[ids[1]] ?? [:], objects[ids[2]] ?? [:])
        #expect(fine["status"] as? String == "completed" && fine["attempts"] as? Int == 1)
        #expect(invalid["status"] as? String == "failed", "errored invalid_request: failed")
        #expect((invalid["error"] as? [String: Any])?["code"] as? String == "upstream_status_400")
        let invalidResult = try await TestHTTP.get(cluster.v1 + "/deferred/\(ids[1])/result")
        #expect(invalidResult.status == 400 && invalidResult.json?["type"] as? String == "error", "Anthropic's error as it gave it")
        #expect(flaky["status"] as? String == "completed" && flaky["attempts"] as? Int == 2, "errored otherwise: re-batched")
        let broken = objects[ids[3]] ?? [:]
        #expect(broken["status"] as? String == "failed" && broken["attempts"] as? Int == 3, "re-batched within OFFPEAK_MAX_ATTEMPTS only")
        #expect((broken["error"] as? [String: Any])?["code"] as? String == "max_attempts_exceeded")
        let result = try await TestHTTP.get(cluster.v1 + "/deferred/\(ids[0])/result")
        #expect(result.status == 200 && result.json?["type"] as? String == "message")
        #expect(((objects[ids[0]]?["usage"] as? [String: Any])?["prompt_tokens"] as? Int ?? 0) > 0, "usage from the message")

        // A batch that expires half-way: what ran is kept, what did not goes in another batch.
        let expiring = try await defer_(cluster, ["one [sim:batch=expire,times=1]", "two", "three", "four"])
        let settled = try await cluster.waitTerminal(expiring)
        #expect(settled.values.allSatisfy { $0["status"] as? String == "completed" })
        // However the four were batched, the rows the expired batch did not run went in another one, once.
        let attempts = settled.values.map { $0["attempts"] as? Int ?? 0 }
        #expect(attempts.contains(2) && attempts.allSatisfy { (1...2).contains($0) }, "expired rows re-batched once: \(attempts)")

        // Endpoints the routed upstream does not batch.
        let responses = try await TestHTTP.post(
            cluster.v1 + "/responses", json: ["model": "claude-sonnet-4", "input": "hi"], headers: [("Prefer", "respond-async")])
        #expect(responses.status == 400 && responses.errorCode == "endpoint_not_batchable")
        let messagesToOpenAI = try await TestHTTP.post(
            cluster.v1 + "/messages", json: ["model": "qwen-plus", "max_tokens": 8, "messages": [["role": "user", "content": "hi"]]],
            headers: [("Prefer", "respond-async")])
        #expect(messagesToOpenAI.status == 400 && messagesToOpenAI.errorCode == "endpoint_not_batchable")
    }

    @Test func aCancelledMessageBatchKeepsWhatRanAndRequeuesTheRest() async throws {
        let cluster = try await Cluster(
            name: "anthropic-cancel", batchDelay: 12,
            gateway: Self.settings(["OFFPEAK_FLUSH_MAX_AGE": "3600", "OFFPEAK_FLUSH_MAX_REQUESTS": "10", "OFFPEAK_ADMIN_KEYS": "sk-admin"]),
            config: Self.config)
        let admin = [("Authorization", "Bearer sk-admin")]
        let ids = try await defer_(cluster, (0..<10).map { "message \($0)" })
        var batchID = ""
        try await eventually("the message batch part-way", within: 30) {
            let batch = (try await TestHTTP.get(cluster.gateway.url + "/admin/v1/batches?status=in_progress", headers: admin)
                .json?["data"] as? [[String: Any]])?.first
            batchID = batch?["id"] as? String ?? ""
            return ((batch?["request_counts"] as? [String: Int])?["completed"] ?? 0) > 0
        }
        let cancel = try await TestHTTP.post(cluster.gateway.url + "/admin/v1/batches/\(batchID)/cancel", json: [:], headers: admin)
        #expect(cancel.status == 200, "\(cancel.text)")
        try await eventually("the batch to end") {
            (try await TestHTTP.get(cluster.gateway.url + "/admin/v1/batches/\(batchID)", headers: admin).json?["ended_at"]) is Int
        }
        _ = try await TestHTTP.post(cluster.gateway.url + "/admin/v1/queues/flush", json: [:], headers: admin)
        let objects = try await cluster.waitTerminal(ids, within: 60)
        #expect(objects.values.allSatisfy { $0["status"] as? String == "completed" }, "canceled rows re-batched and answered")
        let second = objects.values.filter { ($0["batch"] as? [String: Any])?["id"] as? String != batchID }
        #expect(!second.isEmpty && second.count < 10, "some ran before the cancel, the rest in another batch")
    }
}
