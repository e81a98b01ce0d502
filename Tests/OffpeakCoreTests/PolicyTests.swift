import Foundation
import OffpeakCore
@testable import OffpeakGateway
import Testing

@Suite struct PolicyRuleTests {
    @Test(arguments: [
        ("qwen-*", "qwen-plus", true), ("qwen-*", "qwen-", true), ("qwen-*", "gpt-4o", false), ("*", "", true),
        ("q?en-max", "qwen-max", true), ("*-max", "qwen-max", true), ("*-max", "qwen-max-latest", false),
        ("a*b*c", "aXXbYYc", true), ("a*b*c", "aXXbYY", false), ("/v1/chat/*", "/v1/chat/completions", true),
    ])
    func globs(pattern: String, text: String, matches: Bool) {
        #expect(Glob.matches(pattern, text) == matches)
    }

    func call(key: String? = "key-eval", model: String? = "qwen-plus", path: String = "/v1/chat/completions",
              headers: [String: String] = [:]) -> CallFacts {
        CallFacts(path: path, model: model, isKey: { $0 == key }, header: { headers[$0] })
    }

    @Test func everyFieldARuleSetsMustHoldAndTheFirstMatchWins() throws {
        let policies = try PolicyFile.parse("""
            policies:
              - name: urgent-jobs
                match: {headers: {X-Job: urgent}}
                action: passthrough
              - name: evals
                match: {keys: [key-eval], models: ["qwen-*"], paths: [/v1/chat/completions], headers: {x-job: eval}}
                action: defer
                hold: 600
                deadline: 300
                fallback: always
                stream: passthrough
              - name: everything-else
                action: defer
            """)
        #expect(policies.rules.map(\.name) == ["urgent-jobs", "evals", "everything-else"])
        let evals = policies.rules[1]
        #expect(evals.hold == 600 && evals.deadline == 300 && evals.fallback == .always && evals.stream == .passthrough)
        #expect(policies.rules[2].hold == 3600 && policies.rules[2].deadline == nil && policies.rules[2].fallback == .whenQueued)
        #expect(policies.rule(for: call(headers: ["x-job": "urgent"]))?.name == "urgent-jobs", "header names are matched in any case")
        #expect(policies.rule(for: call(headers: ["x-job": "eval"]))?.name == "evals")
        #expect(policies.rule(for: call(key: "key-app", headers: ["x-job": "eval"]))?.name == "everything-else")
        #expect(policies.rule(for: call(model: "gpt-4o", headers: ["x-job": "eval"]))?.name == "everything-else")
        #expect(policies.rule(for: call(model: nil, headers: ["x-job": "eval"]))?.name == "everything-else")
        #expect(policies.rule(for: call(path: "/v1/embeddings", headers: ["x-job": "eval"]))?.name == "everything-else")
        #expect(policies.rule(for: call())?.name == "everything-else", "a missing header does not match")
    }

    @Test(arguments: [
        ("policies: [{name: a, action: wait}]", "rule 1 (a): `action` must be defer, flex or passthrough"),
        ("policies: [{name: a, action: defer, hold: 10, deadline: 20}]", "rule 1 (a): `deadline` (20.0 s) is after `hold`"),
        ("policies: [{name: a, action: defer}, {name: a, action: defer}]", "rule 2 (a): the name is used by an earlier rule"),
        ("policies: [{name: a, action: defer}, {name: b, action: defer, fallback: sometimes}]", "rule 2 (b): `fallback` must be"),
        ("policies: [{name: a, action: defer, match: {model: [x]}}]", "rule 1 (a): unknown match field `model`"),
        ("policies: [{name: a, action: defer, match: {models: []}}]", "rule 1 (a): `match.models` must be a non-empty list"),
        ("policies: [{name: a, action: defer, hold: -1}]", "rule 1 (a): `hold` must be a positive number"),
        ("policies: [{action: defer}]", "rule 1: `name` must be a non-empty string"),
        ("rules: []", "unknown top-level key `rules`"),
        ("policies: [", "not valid YAML or JSON"),
    ])
    func anInvalidFileIsRefusedNamingTheRuleAtFault(yaml: String, message: String) {
        #expect {
            _ = try PolicyFile.parse(yaml)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func jsonIsReadToo() throws {
        let policies = try PolicyFile.parse(#"{"policies":[{"name":"all","match":{"models":["*"]},"action":"defer","hold":60}]}"#)
        #expect(policies.rules.first?.hold == 60)
        #expect(PolicyFile.describe(policies) == ["1. all: models=* → defer hold=60s stream=replay undeferrable=reject"])
    }

    @Test func aCompletionIsReplayedAsTheChunksAStreamingCallWouldHaveReceived() throws {
        let completion = #"""
            {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"qwen-plus",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}
            """#
        let events = try #require(StreamReplay.events(from: Array(completion.utf8)))
        let text = String(decoding: events, as: UTF8.self)
        #expect(text.hasSuffix("data: [DONE]\n\n"))
        let chunks = try text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any])
        }
        #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" && $0["id"] as? String == "chatcmpl-1" })
        let deltas = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any] }
        #expect(deltas.first?["role"] as? String == "assistant")
        #expect(deltas.compactMap { $0["content"] as? String }.joined() == "Hello there")
        #expect(chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String } == ["stop"])
        #expect((chunks.last?["usage"] as? [String: Any])?["total_tokens"] as? Int == 5)
    }
}
