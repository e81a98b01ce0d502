import Foundation
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// Every endpoint that sells batches, deferred end to end against the simulator: one endpoint and
/// one model per file, the result the provider's body byte for byte (what the same call answers
/// in real time), the usage read from that endpoint's own fields; and the official OpenAI SDK
/// deferring embeddings and responses with nothing but the header.
@Suite struct EndpointTests {
    nonisolated(unsafe) static let bodies: [(endpoint: String, body: [String: Any])] = [
        ("/v1/chat/completions", chatBody(model: "qwen-plus", "Summarise the ticket")),
        ("/v1/completions", ["model": "qwen-plus", "prompt": "Once upon a time in a batch file"]),
        ("/v1/embeddings", ["model": "text-embedding-v4", "input": ["the first passage", "the second passage"]]),
        ("/v1/responses", ["model": "qwen-plus", "input": "Write a haiku about queues"]),
    ]

    @Test func eachEndpointIsBatchedUnderItsOwnURLAndAnsweredAsTheProviderAnswered() async throws {
        try await run(try await Cluster(name: "endpoints"))
    }

    @Test(.enabled(if: ScratchPostgres.adminURL != nil, "OFFPEAK_TEST_POSTGRES_URL names no PostgreSQL server"))
    func eachEndpointOnPostgreSQL() async throws {
        try await ScratchPostgres.with("endpoints") { url in
            try await run(try await Cluster(name: "endpoints-pg", gateway: ["OFFPEAK_DATABASE": url]))
        }
    }

    func run(_ cluster: Cluster) async throws {
        var ids: [String: String] = [:]
        for (endpoint, body) in Self.bodies {
            let answer = try await TestHTTP.post(
                cluster.gateway.url + endpoint, json: body, headers: [("Prefer", "respond-async")])
            #expect(answer.status == 202, "\(endpoint): \(answer.text)")
            ids[endpoint] = try #require(answer.json?["id"] as? String)
            #expect(answer.json?["endpoint"] as? String == endpoint)
        }
        let objects = try await cluster.waitTerminal(Array(ids.values))
        for (endpoint, body) in Self.bodies {
            let id = try #require(ids[endpoint])
            #expect(objects[id]?["status"] as? String == "completed", "\(endpoint)")
            let result = try await TestHTTP.get(cluster.v1 + "/deferred/\(id)/result")
            let direct = try await TestHTTP.send(
                .POST, cluster.upstream + String(endpoint.dropFirst(3)), body: Array(try JSONSerialization.data(withJSONObject: body)),
                headers: [("Authorization", "Bearer sk-upstream")])
            #expect(result.status == 200 && result.body == direct.body, "\(endpoint): the provider's body, byte for byte")
            let usage = try #require(objects[id]?["usage"] as? [String: Any], "\(endpoint)")
            let provider = try #require(direct.json?["usage"] as? [String: Any])
            let prompt = provider["prompt_tokens"] as? Int ?? provider["input_tokens"] as? Int
            #expect(usage["prompt_tokens"] as? Int == prompt && prompt ?? 0 > 0, "\(endpoint): usage from its own fields")
        }
        let batches = try await cluster.upstreamBatches()
        #expect(batches.count == 4, "one file per endpoint (two share a model): \(batches.map(\.endpoint))")
        #expect(batches.allSatisfy { $0.urls == [$0.endpoint] && $0.models.count == 1 }, "no file mixes endpoints or models")
        #expect(Set(batches.map(\.endpoint)) == Set(Self.bodies.map(\.endpoint)))
        let report = try await TestHTTP.get(cluster.v1 + "/usage?group_by=model").json?["data"] as? [[String: Any]] ?? []
        let embedding = report.first { $0["model"] as? String == "text-embedding-v4" }
        #expect(embedding?["requests"] as? Int == 1 && embedding?["completion_tokens"] as? Int == 0, "embeddings: input tokens only")
    }

    @Test func aStreamIsNotDeferredOnAnyEndpoint() async throws {
        let cluster = try await Cluster(name: "endpoint-streams")
        for (endpoint, body) in Self.bodies {
            var streaming = body
            streaming["stream"] = true
            let answer = try await TestHTTP.post(cluster.gateway.url + endpoint, json: streaming, headers: [("Prefer", "respond-async")])
            #expect(answer.status == 400 && answer.errorCode == "stream_not_deferrable", "\(endpoint)")
        }
        let queues = try await TestHTTP.get(cluster.gateway.url + "/admin/v1/queues").json?["data"] as? [[String: Any]]
        #expect(queues?.isEmpty == true, "nothing stored")
    }

    @Test func theOfficialSDKDefersEmbeddingsAndResponses() async throws {
        let cluster = try await Cluster(name: "endpoint-sdk", gateway: ["OFFPEAK_API_KEYS": "key-sdk", "OFFPEAK_FLUSH_MAX_AGE": "0.2"])
        let seen = try await PythonEnvironment.shared.runScript("openai_endpoints.py", [cluster.v1, "key-sdk"])
        #expect(seen["embeddings_status"] as? Int == 202 && seen["responses_status"] as? Int == 202)
        #expect(seen["embeddings_state"] as? String == "completed" && seen["responses_state"] as? String == "completed")
        #expect(seen["embedding_count"] as? Int == 2 && seen["embedding_length"] as? Int == 8)
        let direct = try await TestHTTP.send(
            .POST, cluster.upstream + "/responses",
            body: Array(try JSONSerialization.data(withJSONObject: ["model": "qwen-plus", "input": "Hello from the Responses API"])),
            headers: [("Authorization", "Bearer sk-upstream")])
        let output = ((direct.json?["output"] as? [[String: Any]])?.first?["content"] as? [[String: Any]])?.first?["text"] as? String
        #expect(seen["response_text"] as? String == output && output != nil)
        #expect(seen["response_object"] as? String == "response")
    }
}

/// A policy defers every batchable endpoint, not only chat completions; a stream it cannot
/// rebuild from a batch result passes through.
@Suite struct EndpointPolicyTests {
    @Test func aPolicyDefersEmbeddingsAndLetsOtherStreamsThrough() async throws {
        let settings = try PolicyTests.settings(
            """
            policies:
              - name: corpus
                match: {keys: ["key-eval"]}
                action: defer
                hold: 120
            """, ["OFFPEAK_FLUSH_MAX_AGE": "0.2"])
        let cluster = try await Cluster(name: "endpoint-policy", gateway: settings)
        let auth = [("Authorization", "Bearer key-eval")]
        let embeddings = try await TestHTTP.post(
            cluster.v1 + "/embeddings", json: ["model": "text-embedding-v4", "input": "a passage to index"], headers: auth)
        #expect(embeddings.status == 200 && embeddings.headers["Offpeak-Served-By"].first == "batch", "\(embeddings.text)")
        #expect((embeddings.json?["data"] as? [[String: Any]])?.count == 1)
        let stream = try await TestHTTP.post(
            cluster.v1 + "/completions", json: ["model": "qwen-plus", "prompt": "stream me", "stream": true], headers: auth)
        #expect(stream.headers["Offpeak-Served-By"].isEmpty, "a completion stream cannot be replayed: passed through")
        #expect(stream.errorCode == "stream_unsupported", "the simulator's own answer (it streams chat only)")
        let batched = try await cluster.upstreamBatches()
        #expect(batched.map(\.endpoint) == ["/v1/embeddings"])
    }
}
