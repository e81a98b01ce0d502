import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// Transparent mode: an operator's policy defers calls that carry no header at all, and holds them.
@Suite(.serialized) struct PolicyTests {
    /// Writes a policy file and returns the gateway settings that use it.
    static func settings(_ yaml: String, _ extra: [String: String] = [:]) throws -> [String: String] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-policy-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        var settings = ["OFFPEAK_CONFIG": path, "OFFPEAK_API_KEYS": "key-eval,key-app"]
        for (key, value) in extra { settings[key] = value }
        return settings
    }

    static let evalPolicy = """
        policies:
          - name: evals
            match: {keys: ["key-eval"], models: ["qwen-*"]}
            action: defer
            hold: 120
        """

    func stats(_ cluster: Cluster) async throws -> [String: Any] {
        try await TestHTTP.get(cluster.simulator.url + "/sim/stats").json ?? [:]
    }

    func call(_ cluster: Cluster, _ text: String, key: String = "key-eval", headers: [(String, String)] = [], stream: Bool = false)
        async throws -> TestHTTP.Answer
    {
        try await TestHTTP.post(
            cluster.v1 + "/chat/completions", json: chatBody(model: "qwen-plus", text, extra: stream ? ["stream": true] : [:]),
            headers: [("Authorization", "Bearer \(key)")] + headers)
    }

    func offpeak(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try OffpeakProcess.runToEnd(arguments, environment: environment)
    }

    @Test func policiesPrintsTheRulesAsParsedAndAnInvalidFileIsRefused() throws {
        let good = try #require(try Self.settings(Self.evalPolicy)["OFFPEAK_CONFIG"])
        let printed = try offpeak(["policies", "--config", good])
        #expect(printed.status == 0)
        #expect(printed.output.contains("1. evals: keys=1 key(s) models=qwen-* → defer hold=120s stream=replay undeferrable=reject"))
        #expect(!printed.output.contains("key-eval"), "client keys are not printed")
        let bad = try #require(try Self.settings("policies:\n  - name: evals\n    action: defer\n    fallback: maybe\n")["OFFPEAK_CONFIG"])
        let refused = try offpeak(["policies", "--config", bad])
        #expect(refused.status == 2 && refused.output.contains("rule 1 (evals): `fallback` must be when-queued, always or never"))
        let serve = try offpeak(["serve", "--port", "0"], environment: ["OFFPEAK_CONFIG": bad, "OFFPEAK_UPSTREAM_API_KEY": "sk"])
        #expect(serve.status == 2 && serve.output.contains("rule 1 (evals)"), "serve refuses the file too")

        let badPrice = try #require(try Self.settings("prices:\n  models:\n    qwen-plus: {input: -0.4}\n")["OFFPEAK_CONFIG"])
        let price = try offpeak(["policies", "--config", badPrice])
        #expect(price.status == 2 && price.output.contains("qwen-plus: `input` must be a number"), "\(price.output)")
        let servePrice = try offpeak(["serve", "--port", "0"], environment: ["OFFPEAK_CONFIG": badPrice, "OFFPEAK_UPSTREAM_API_KEY": "sk"])
        #expect(servePrice.status == 2 && servePrice.output.contains("qwen-plus: `input`"), "\(servePrice.output)")

        let window = try offpeak(
            ["serve", "--port", "0"],
            environment: [
                "OFFPEAK_UPSTREAM_API_KEY": "sk", "OFFPEAK_UPSTREAM_URL": "https://api.openai.com/v1", "OFFPEAK_COMPLETION_WINDOW": "72h",
            ])
        #expect(window.status == 2 && window.output.contains("'72h' is not a window this provider takes (OpenAI takes only 24h)"), "\(window.output)")

        let upstreams = try #require(
            try Self.settings(
                """
                upstreams:
                  - name: dashscope
                    url: https://dashscope-intl.aliyuncs.com/compatible-mode/v1
                    api_key_env: OFFPEAK_TEST_DASHSCOPE_KEY
                    models: ["qwen-*"]
                    completion_window: 72h
                """)["OFFPEAK_CONFIG"])
        let listed = try offpeak(["policies", "--config", upstreams], environment: ["OFFPEAK_TEST_DASHSCOPE_KEY": "sk-ds-secret"])
        #expect(listed.status == 0 && listed.output.contains("1. dashscope (openai, https://dashscope-intl.aliyuncs.com/compatible-mode/v1, key from $OFFPEAK_TEST_DASHSCOPE_KEY, models qwen-*, window 72h"), "\(listed.output)")
        #expect(!listed.output.contains("sk-ds-secret"), "the key is never printed")
        for (variable, value) in [("OFFPEAK_MAX_QUEUED", "-5"), ("OFFPEAK_MAX_QUEUED_PER_KEY", "many"), ("OFFPEAK_RETENTION", "-1")] {
            let bound = try offpeak(["serve", "--port", "0"], environment: ["OFFPEAK_UPSTREAM_API_KEY": "sk", variable: value])
            #expect(bound.status == 2 && bound.output.contains("\(variable) must be"), "\(bound.output)")
        }
        let missingKey = try offpeak(["serve", "--port", "0"], environment: ["OFFPEAK_CONFIG": upstreams])
        #expect(missingKey.status == 2 && missingKey.output.contains("upstream 1 (dashscope): `api_key_env` names $OFFPEAK_TEST_DASHSCOPE_KEY, which is not set or empty"), "\(missingKey.output)")
    }

    @Test func theOfficialSDKWithNoHeadersGetsBatchAnswersPlainAndStreamed() async throws {
        let cluster = try await Cluster(name: "policy-sdk", gateway: try Self.settings(Self.evalPolicy, ["OFFPEAK_FLUSH_MAX_AGE": "0.3"]))
        let before = try await stats(cluster)
        let seen = try await PythonEnvironment.shared.runScript("transparent_client.py", [cluster.v1, "key-eval"])
        let direct = try await TestHTTP.post(
            cluster.upstream + "/chat/completions", json: chatBody(model: "qwen-plus", "Label this review: the soup was cold"),
            headers: [("Authorization", "Bearer sk-upstream")])
        let expected = try #require(((direct.json?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String)
        #expect(seen["plain_type"] as? String == "ChatCompletion")
        #expect(seen["plain"] as? String == expected)
        #expect((seen["plain_usage"] as? Int ?? 0) > 0)
        #expect(seen["plain_served_by"] as? String == "batch")
        #expect((seen["plain_request_id"] as? String)?.hasPrefix("dfr_") == true)
        #expect(seen["stream"] as? String == expected, "the replayed stream carries the batch answer")
        #expect(seen["stream_types"] as? [String] == ["ChatCompletionChunk"])
        let after = try await stats(cluster)
        #expect(after["realtime_calls"] as? Int == (before["realtime_calls"] as? Int ?? 0) + 1, "only the direct call above was real time")
        let upstream = try await cluster.upstreamBatches()
        #expect(upstream.flatMap(\.customIDs).count == 2, "both SDK calls went through batch files")
        let id = try #require(seen["plain_request_id"] as? String)
        let object = try #require(try await cluster.object(id, key: "key-eval"))
        #expect(object["served_by"] as? String == "batch" && object["policy"] as? String == "evals")
    }

    @Test func callsNoRuleMatchesOrThatOptOutPassStraightThrough() async throws {
        let cluster = try await Cluster(name: "policy-pass", gateway: try Self.settings(Self.evalPolicy))
        let before = try await stats(cluster)["realtime_calls"] as? Int ?? 0
        let other = try await call(cluster, "another app", key: "key-app")
        let optOut = try await call(cluster, "urgent", headers: [("Offpeak-Defer", "never")])
        let explicit = try await call(cluster, "explicit", headers: [("Prefer", "respond-async")])
        #expect(other.status == 200 && other.headers.first(name: "offpeak-served-by") == nil)
        #expect(optOut.status == 200 && optOut.headers.first(name: "offpeak-served-by") == nil)
        #expect(explicit.status == 202, "an explicit respond-async keeps its 202")
        #expect(try await stats(cluster)["realtime_calls"] as? Int == before + 2)
    }

    @Test func aRequestStillQueuedAtTheDeadlineIsWithdrawnAndAnsweredFromRealTime() async throws {
        let policy = """
            policies:
              - name: evals
                match: {keys: ["key-eval"]}
                action: defer
                hold: 30
                deadline: 1
                fallback: when-queued
            """
        let cluster = try await Cluster(name: "policy-queued", gateway: try Self.settings(policy, ["OFFPEAK_FLUSH_MAX_AGE": "4"]))
        let answer = try await call(cluster, "label this quickly")
        #expect(answer.status == 200)
        #expect(answer.headers.first(name: "offpeak-served-by") == "realtime-fallback")
        #expect((answer.json?["object"] as? String) == "chat.completion")
        let id = try #require(answer.headers.first(name: "offpeak-request-id"))
        // Past the flush age: it never reached a batch.
        try await Task.sleep(for: .seconds(5))
        #expect(try await cluster.upstreamBatches().flatMap(\.customIDs).contains(id) == false, "never placed in a batch")
        let object = try #require(try await cluster.object(id, key: "key-eval"))
        #expect(object["status"] as? String == "completed")
        #expect(object["served_by"] as? String == "realtime-fallback")
        #expect((object["served_reason"] as? String)?.contains("still queued") == true)
    }

    @Test func aSubmittedRequestIsNotSentTwiceAndHoldEndsIn504() async throws {
        let policy = """
            policies:
              - name: evals
                action: defer
                hold: 3
                deadline: 1
                fallback: when-queued
            """
        let cluster = try await Cluster(
            name: "policy-submitted", batchDelay: 6, gateway: try Self.settings(policy, ["OFFPEAK_FLUSH_MAX_AGE": "0.2"]))
        let before = try await stats(cluster)["realtime_calls"] as? Int ?? 0
        let answer = try await call(cluster, "slow batch")
        #expect(answer.status == 504)
        let id = try #require(answer.headers.first(name: "offpeak-request-id"))
        #expect((answer.json?["error"] as? [String: Any])?["code"] as? String == "deferred_timeout")
        #expect(try await stats(cluster)["realtime_calls"] as? Int == before, "not answered from real time: it was in a batch")
        let done = try await cluster.waitTerminal([id], key: "key-eval")
        #expect(done[id]?["status"] as? String == "completed" && done[id]?["served_by"] as? String == "batch")
    }

    @Test func alwaysAnswersFromRealTimeAtTheDeadlineEvenWhenTheRequestIsInABatch() async throws {
        let policy = """
            policies:
              - name: evals
                action: defer
                hold: 30
                deadline: 1
                fallback: always
            """
        let cluster = try await Cluster(
            name: "policy-always", batchDelay: 4, gateway: try Self.settings(policy, ["OFFPEAK_FLUSH_MAX_AGE": "0.2"]))
        let before = try await stats(cluster)["realtime_calls"] as? Int ?? 0
        let answer = try await call(cluster, "answer me in time")
        #expect(answer.status == 200 && answer.headers.first(name: "offpeak-served-by") == "realtime-fallback")
        #expect(answer.json?["object"] as? String == "chat.completion")
        #expect(try await stats(cluster)["realtime_calls"] as? Int == before + 1)
        let id = try #require(answer.headers.first(name: "offpeak-request-id"))
        let done = try await cluster.waitTerminal([id], key: "key-eval")
        #expect(done[id]?["served_by"] as? String == "realtime-fallback", "the record says it was answered from real time")
        #expect((done[id]?["served_reason"] as? String)?.contains("also in a batch") == true)
        // Two calls were made, and both are billed: one in each lane.
        let report = try await TestHTTP.get(
            cluster.v1 + "/usage?group_by=lane", headers: [("Authorization", "Bearer key-eval")]).json
        let lanes = (report?["data"] as? [[String: Any]] ?? []).map { "\($0["lane"] ?? "") \($0["requests"] ?? "")" }
        #expect(lanes == ["batch 1", "realtime 1"], "\(String(describing: report))")
    }

    @Test func neverAnswers504AtTheDeadlineAndTheResultArrivesLater() async throws {
        let policy = """
            policies:
              - name: evals
                action: defer
                hold: 30
                deadline: 1
                fallback: never
            """
        let cluster = try await Cluster(
            name: "policy-never", batchDelay: 3, gateway: try Self.settings(policy, ["OFFPEAK_FLUSH_MAX_AGE": "0.2"]))
        let started = Date()
        let answer = try await call(cluster, "never fall back")
        #expect(answer.status == 504 && Date().timeIntervalSince(started) < 25, "at the 1 s deadline, not after the 30 s hold")
        let id = try #require(answer.headers.first(name: "offpeak-request-id"))
        let later = try await TestHTTP.get(
            cluster.v1 + "/deferred/\(id)", headers: [("Authorization", "Bearer key-eval"), ("Prefer", "wait=30")])
        #expect(later.json?["status"] as? String == "completed")
    }

    @Test func aClientThatHangsUpLeavesAResultThatIsRecordedAndRetrievable() async throws {
        let cluster = try await Cluster(
            name: "policy-hangup", batchDelay: 2, gateway: try Self.settings(Self.evalPolicy, ["OFFPEAK_FLUSH_MAX_AGE": "0.2"]))
        var request = HTTPClientRequest(url: cluster.v1 + "/chat/completions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer key-eval")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(try JSONSerialization.data(withJSONObject: chatBody(model: "qwen-plus", "hang up")))
        await #expect(throws: (any Error).self) { _ = try await TestHTTP.client.execute(request, timeout: .milliseconds(500)) }
        var id: String?
        try await eventually("the held request to be listed", within: 60) {
            let list = try await TestHTTP.get(cluster.v1 + "/deferred", headers: [("Authorization", "Bearer key-eval")])
            id = ((list.json?["data"] as? [[String: Any]])?.first)?["id"] as? String
            return id != nil
        }
        let done = try await cluster.waitTerminal([try #require(id)], key: "key-eval")
        #expect(done[id!]?["status"] as? String == "completed")
        let result = try await TestHTTP.get(cluster.v1 + "/deferred/\(id!)/result", headers: [("Authorization", "Bearer key-eval")])
        #expect(result.status == 200 && result.json?["object"] as? String == "chat.completion")
    }

    @Test func twoThousandHeldRequestsComplete() async throws {
        let cluster = try await Cluster(
            name: "policy-2000", batchDelay: 2,
            // One file of exactly 2,000: no answer can come before the last request is in.
            gateway: try Self.settings(Self.evalPolicy, ["OFFPEAK_FLUSH_MAX_AGE": "600", "OFFPEAK_FLUSH_MAX_REQUESTS": "2000"]))
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(30), read: .seconds(300)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 2_100
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await holdTwoThousand(cluster, client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    func holdTwoThousand(_ cluster: Cluster, _ client: HTTPClient) async throws {
        let body = ByteBuffer(bytes: Array(try JSONSerialization.data(withJSONObject: chatBody(model: "qwen-plus", "held"))))
        let url = cluster.v1 + "/chat/completions"
        let answered = Answered()
        async let answers = withThrowingTaskGroup(of: (Int, String?).self) { group in
            for _ in 0..<2_000 {
                group.addTask {
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer key-eval")
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(body)
                    let response = try await client.execute(request, timeout: .seconds(300))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    await answered.add()
                    return (Int(response.status.code), response.headers.first(name: "offpeak-served-by"))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // All 2,000 accepted and none answered yet (they travel in one file): all are held at once.
        // The gateway's footprint then.
        var held: (rss: Int, threads: Int) = (0, 0)
        try await eventually("2,000 requests to be held at once", within: 150) {
            let metrics = try await TestHTTP.get(cluster.gateway.url + "/metrics").text
            let deferred = metrics.split(separator: "\n").first { $0.hasPrefix("offpeak_policy_deferred_total") }
                .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            held = ProcessStatus.of(cluster.gateway.pid)
            return deferred >= 2_000
        }
        #expect(await answered.count == 0, "none answered before all were held")
        let all = try await answers
        print("2,000 held requests: gateway resident \(held.rss / 1024) MB, \(held.threads) threads while holding them")
        #expect(all.count == 2_000)
        #expect(all.allSatisfy { $0.0 == 200 && $0.1 == "batch" })
        #expect(held.threads < 64, "held connections do not tie up threads")
    }
}

actor Answered {
    var count = 0
    func add() { count += 1 }
}

/// Resident memory (KB) and thread count of a process, from /proc.
enum ProcessStatus {
    static func of(_ pid: Int32) -> (rss: Int, threads: Int) {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func value(_ name: String) -> Int {
            text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { Int($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") } ?? 0
        }
        return (value("VmRSS"), value("Threads"))
    }
}
