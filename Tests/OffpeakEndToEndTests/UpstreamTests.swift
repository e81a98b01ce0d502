import Foundation
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// Several upstreams behind one gateway: every model's calls and batches
/// reach only the upstream its globs route it to, with that upstream's key and window; no file
/// mixes upstreams, endpoints or models; a model no upstream takes is refused.
@Suite struct UpstreamTests {
    @Test func eachModelGoesToItsUpstreamWithItsKeyAndWindow() async throws {
        let alpha = try await OffpeakProcess(
            arguments: ["simulate", "--port", "0", "--batch-delay", "0.5", "--api-key", "sk-alpha"], name: "upstreams-alpha")
        let beta = try await OffpeakProcess(
            arguments: ["simulate", "--port", "0", "--batch-delay", "0.5", "--api-key", "sk-beta"], name: "upstreams-beta")
        let gamma = try await OffpeakProcess(
            arguments: ["simulate", "--port", "0", "--batch-delay", "0.5", "--api-key", "sk-gamma"], name: "upstreams-gamma")
        let config = """
            upstreams:
              - name: alpha
                url: \(alpha.url)/v1
                api_key_env: ALPHA_KEY
                models: ["qwen-*"]
                completion_window: 48h
              - name: beta
                url: \(beta.url)/v1
                api_key_env: BETA_KEY
                models: ["gpt-*", "text-embedding-*"]
                max_lines: 2
                max_line_bytes: 2000
              - name: gamma
                kind: anthropic
                url: \(gamma.url)/v1
                api_key_env: GAMMA_KEY
                models: ["claude-*"]
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-upstreams-\(UUID().uuidString).yaml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let cluster = try await Cluster(
            name: "upstreams",
            gateway: [
                "OFFPEAK_CONFIG": path, "ALPHA_KEY": "sk-alpha", "BETA_KEY": "sk-beta", "GAMMA_KEY": "sk-gamma", "OFFPEAK_UPSTREAM_API_KEY": "",
                "OFFPEAK_ADMIN_KEYS": "sk-admin",
            ])

        // Passthrough, routed by model.
        let plainAlpha = try await TestHTTP.post(cluster.v1 + "/chat/completions", json: chatBody(model: "qwen-plus", "hi"))
        let plainBeta = try await TestHTTP.post(cluster.v1 + "/chat/completions", json: chatBody(model: "gpt-4o", "hi"))
        #expect(plainAlpha.status == 200 && plainBeta.status == 200, "\(plainAlpha.text) \(plainBeta.text)")
        #expect((plainBeta.json?["model"] as? String) == "gpt-4o")
        let unrouted = try await TestHTTP.post(cluster.v1 + "/chat/completions", json: chatBody(model: "llama-3", "hi"))
        #expect(unrouted.status == 400 && unrouted.errorCode == "model_not_routed")
        let deferredUnrouted = try await cluster.deferred(chatBody(model: "llama-3", "hi"))
        #expect(deferredUnrouted.status == 400 && deferredUnrouted.errorCode == "model_not_routed")
        for simulator in [alpha, beta] {
            let stats = try await TestHTTP.get(simulator.url + "/sim/stats", headers: [("Authorization", "Bearer \(simulator === alpha ? "sk-alpha" : "sk-beta")")])
            #expect(stats.json?["realtime_calls"] as? Int == 1, "one plain call each")
        }

        let oversized = try await cluster.deferred(chatBody(model: "gpt-4o", String(repeating: "long ", count: 500)))
        #expect(oversized.status == 413 && oversized.errorCode == "request_too_large", "beta's line limit: \(oversized.text)")

        // Deferred, batched per upstream.
        var ids: [String: String] = [:]
        for (model, count) in [("qwen-plus", 3), ("gpt-4o", 3)] {
            for index in 0..<count {
                let answer = try await cluster.deferred(chatBody(model: model, "\(model) \(index)"))
                #expect(answer.status == 202, "\(answer.text)")
                ids[try #require(answer.json?["id"] as? String)] = model
            }
        }
        let claude = ["model": "claude-sonnet-4", "max_tokens": 16, "messages": [["role": "user", "content": "hi"]]] as [String: Any]
        let plainGamma = try await TestHTTP.post(cluster.v1 + "/messages", json: claude)
        #expect(plainGamma.status == 200 && plainGamma.json?["type"] as? String == "message", "\(plainGamma.text)")
        let deferredGamma = try await TestHTTP.post(cluster.v1 + "/messages", json: claude, headers: [("Prefer", "respond-async")])
        ids[try #require(deferredGamma.json?["id"] as? String)] = "claude-sonnet-4"
        let embedding = try await TestHTTP.post(
            cluster.v1 + "/embeddings", json: ["model": "text-embedding-v4", "input": "a passage"], headers: [("Prefer", "respond-async")])
        ids[try #require(embedding.json?["id"] as? String)] = "text-embedding-v4"
        let objects = try await cluster.waitTerminal(Array(ids.keys))
        for (id, model) in ids {
            #expect(objects[id]?["status"] as? String == "completed", "\(model)")
            #expect(objects[id]?["upstream"] as? String == (model.hasPrefix("qwen") ? "alpha" : model.hasPrefix("claude") ? "gamma" : "beta"))
        }
        let alphaBatches = try await upstreamBatches(alpha.url + "/v1", key: "sk-alpha")
        let betaBatches = try await upstreamBatches(beta.url + "/v1", key: "sk-beta")
        #expect(Set(alphaBatches.flatMap(\.models)) == ["qwen-plus"] && alphaBatches.allSatisfy { $0.window == "48h" })
        #expect(Set(betaBatches.flatMap(\.models)) == ["gpt-4o", "text-embedding-v4"] && betaBatches.allSatisfy { $0.window == "24h" })
        #expect(betaBatches.allSatisfy { $0.models.count == 1 && $0.urls == [$0.endpoint] && $0.customIDs.count <= 2 }, "beta's limit of 2 lines")
        let gptFiles = betaBatches.filter { $0.models == ["gpt-4o"] }
        #expect(gptFiles.count >= 2 && gptFiles.map(\.customIDs.count).reduce(0, +) == 3, "three gpt-4o requests in files of at most two")
        #expect((alphaBatches + betaBatches).allSatisfy { $0.name.hasPrefix("offpeak \($0.models.first ?? "") ") }, "named for the provider's console")

        let batches = try await TestHTTP.get(cluster.gateway.url + "/admin/v1/batches?limit=100", headers: [("Authorization", "Bearer sk-admin")])
            .json?["data"] as? [[String: Any]] ?? []
        #expect(Set(batches.compactMap { $0["upstream"] as? String }) == ["alpha", "beta", "gamma"])
        let messageBatches = try await TestHTTP.get(gamma.url + "/v1/messages/batches", headers: [("x-api-key", "sk-gamma")])
            .json?["data"] as? [[String: Any]] ?? []
        #expect(messageBatches.count == 1, "the claude call went into a Message Batch at gamma, with gamma's key")
        let gammaStats = try await TestHTTP.get(gamma.url + "/sim/stats", headers: [("Authorization", "Bearer sk-gamma")]).json
        #expect(gammaStats?["realtime_calls"] as? Int == 1 && gammaStats?["batches"] as? Int == 1, "gamma saw only its own model")
        let usage = try await TestHTTP.get(cluster.gateway.url + "/admin/v1/usage?group_by=upstream", headers: [("Authorization", "Bearer sk-admin")])
            .json?["data"] as? [[String: Any]] ?? []
        let requests = Dictionary(uniqueKeysWithValues: usage.map { ($0["upstream"] as? String ?? "", $0["requests"] as? Int ?? 0) })
        #expect(requests == ["alpha": 4, "beta": 5, "gamma": 2], "each call on the ledger under its upstream: \(usage)")
    }
}
