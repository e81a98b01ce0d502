import Foundation
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// Every bad input gets its status and an OpenAI-shaped error, and changes nothing.
@Suite(.serialized) struct BadInputTests {
    static let keys = "key-alice,key-bob"

    func cluster(_ name: String, _ settings: [String: String] = [:]) async throws -> Cluster {
        var settings = settings
        settings["OFFPEAK_API_KEYS"] = Self.keys
        settings["OFFPEAK_MAX_REQUEST_BYTES"] = "4096"
        settings["OFFPEAK_FLUSH_MAX_AGE"] = settings["OFFPEAK_FLUSH_MAX_AGE"] ?? "3600"
        return try await Cluster(name: name, gateway: settings)
    }

    func raw(_ cluster: Cluster, _ body: String, headers: [(String, String)] = []) async throws -> TestHTTP.Answer {
        try await TestHTTP.send(
            .POST, cluster.v1 + "/chat/completions", body: Array(body.utf8),
            headers: [("Prefer", "respond-async"), ("Authorization", "Bearer key-alice")] + headers)
    }

    func expectOpenAIError(_ answer: TestHTTP.Answer, _ status: Int, code: String?, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.status == status, "got \(answer.status): \(answer.text)", sourceLocation: sourceLocation)
        let error = answer.json?["error"] as? [String: Any]
        #expect(error != nil, "not an OpenAI error: \(answer.text)", sourceLocation: sourceLocation)
        #expect(error?["message"] is String, sourceLocation: sourceLocation)
        #expect(error?["type"] is String, sourceLocation: sourceLocation)
        #expect(error?.keys.contains("param") == true, sourceLocation: sourceLocation)
        if let code { #expect(error?["code"] as? String == code, sourceLocation: sourceLocation) }
        #expect(answer.headers.first(name: "Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    }

    func storedCount(_ cluster: Cluster, key: String) async throws -> Int {
        let page = try await TestHTTP.get(cluster.v1 + "/deferred?limit=100", headers: [("Authorization", "Bearer \(key)")])
        return (page.json?["data"] as? [Any])?.count ?? -1
    }

    @Test func malformedBodiesAreRefusedAndNothingIsStored() async throws {
        let cluster = try await cluster("bad-bodies")
        expectOpenAIError(try await raw(cluster, "{not json"), 400, code: "invalid_json")
        expectOpenAIError(try await raw(cluster, "[1,2]"), 400, code: "invalid_json")
        expectOpenAIError(try await raw(cluster, #"{"model":"m","messages":[]} trailing"#), 400, code: "invalid_json")
        expectOpenAIError(try await raw(cluster, #"{"messages":[]}"#), 400, code: "missing_model")
        expectOpenAIError(try await raw(cluster, #"{"model":"","messages":[]}"#), 400, code: "missing_model")
        expectOpenAIError(try await raw(cluster, #"{"model":42,"messages":[]}"#), 400, code: "missing_model")
        expectOpenAIError(try await raw(cluster, #"{"model":"m","stream":true,"messages":[]}"#), 400, code: "stream_not_deferrable")
        let big = #"{"model":"m","messages":[{"role":"user","content":""# + String(repeating: "x", count: 5000) + #""}]}"#
        expectOpenAIError(try await raw(cluster, big), 413, code: "request_too_large")
        expectOpenAIError(
            try await raw(cluster, #"{"model":"m"}"#, headers: [("Idempotency-Key", String(repeating: "k", count: 256))]), 400,
            code: "invalid_idempotency_key")
        #expect(try await storedCount(cluster, key: "key-alice") == 0)
    }

    @Test(arguments: [
        "ftp://example.com/hook", "/relative/hook", "not a url", "http://127.0.0.1/hook", "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data", "http://[::1]/hook", "http://localhost/hook",
        "http://user:pass@example.com/hook", "http://192.168.1.20:8080/hook", "https://[fd00::1]/hook",
    ])
    func badCallbackURLsAreRefusedAtIntake(url: String) async throws {
        let cluster = try await cluster("bad-callback")
        expectOpenAIError(
            try await raw(cluster, #"{"model":"m","messages":[]}"#, headers: [("Offpeak-Callback-Url", url)]), 400,
            code: "invalid_callback_url")
        #expect(try await storedCount(cluster, key: "key-alice") == 0)
    }

    @Test func clientKeysGuardEveryRouteAndOwnership() async throws {
        let cluster = try await cluster("keys")
        let body = #"{"model":"m","messages":[{"role":"user","content":"mine"}]}"#
        expectOpenAIError(
            try await TestHTTP.send(.POST, cluster.v1 + "/chat/completions", body: Array(body.utf8), headers: [("Prefer", "respond-async")]),
            401, code: "missing_api_key")
        expectOpenAIError(
            try await TestHTTP.send(
                .POST, cluster.v1 + "/chat/completions", body: Array(body.utf8),
                headers: [("Prefer", "respond-async"), ("Authorization", "Bearer key-mallory")]), 401, code: "invalid_api_key")
        expectOpenAIError(try await TestHTTP.get(cluster.v1 + "/models"), 401, code: "missing_api_key")
        #expect(try await TestHTTP.get(cluster.gateway.url + "/healthz").status == 200)

        let created = try await raw(cluster, body)
        #expect(created.status == 202)
        let id = try #require(created.json?["id"] as? String)
        let bob = [("Authorization", "Bearer key-bob")]
        expectOpenAIError(try await TestHTTP.get(cluster.v1 + "/deferred/\(id)", headers: bob), 404, code: "deferred_request_not_found")
        expectOpenAIError(try await TestHTTP.get(cluster.v1 + "/deferred/\(id)/result", headers: bob), 404, code: "deferred_request_not_found")
        expectOpenAIError(try await TestHTTP.send(.DELETE, cluster.v1 + "/deferred/\(id)", headers: bob), 404, code: "deferred_request_not_found")
        #expect(try await storedCount(cluster, key: "key-bob") == 0)
        expectOpenAIError(
            try await TestHTTP.get(cluster.v1 + "/deferred/dfr_doesnotexist", headers: [("Authorization", "Bearer key-alice")]), 404,
            code: "deferred_request_not_found")
        let alice = try await TestHTTP.get(cluster.v1 + "/deferred/\(id)", headers: [("Authorization", "Bearer key-alice")])
        #expect(alice.json?["status"] as? String == "queued", "the owner's DELETE attempt by another key changed nothing")
    }

    @Test func badListQueriesAreRefused() async throws {
        let cluster = try await cluster("list-params")
        let alice = [("Authorization", "Bearer key-alice")]
        expectOpenAIError(try await TestHTTP.get(cluster.v1 + "/deferred?status=done", headers: alice), 400, code: "invalid_status")
        expectOpenAIError(try await TestHTTP.get(cluster.v1 + "/deferred?limit=0", headers: alice), 400, code: "invalid_limit")
        expectOpenAIError(try await TestHTTP.get(cluster.v1 + "/deferred?limit=abc", headers: alice), 400, code: "invalid_limit")
    }

    @Test func idempotencyKeysReplayTheSameRequestAndRefuseAnotherBody() async throws {
        let cluster = try await cluster("idempotency")
        let body = #"{"model":"m","messages":[{"role":"user","content":"once"}]}"#
        let first = try await raw(cluster, body, headers: [("Idempotency-Key", "job-1")])
        let again = try await raw(cluster, body, headers: [("Idempotency-Key", "job-1")])
        #expect(first.status == 202 && again.status == 202)
        #expect(first.json?["id"] as? String != nil)
        #expect(first.json?["id"] as? String == again.json?["id"] as? String)
        expectOpenAIError(
            try await raw(cluster, #"{"model":"m","messages":[{"role":"user","content":"twice"}]}"#, headers: [("Idempotency-Key", "job-1")]),
            422, code: "idempotency_key_reused")
        // Another client's identical key is its own.
        let bob = try await TestHTTP.send(
            .POST, cluster.v1 + "/chat/completions", body: Array(body.utf8),
            headers: [("Prefer", "respond-async"), ("Authorization", "Bearer key-bob"), ("Idempotency-Key", "job-1")])
        #expect(bob.status == 202)
        #expect(bob.json?["id"] as? String != first.json?["id"] as? String)
        #expect(try await storedCount(cluster, key: "key-alice") == 1)
    }

    @Test func aSubmittedRequestCannotBeCancelled() async throws {
        let cluster = try await cluster("late-cancel", ["OFFPEAK_FLUSH_MAX_AGE": "0.1"])
        let created = try await raw(cluster, #"{"model":"m","messages":[{"role":"user","content":"go"}]}"#)
        let id = try #require(created.json?["id"] as? String)
        let alice = [("Authorization", "Bearer key-alice")]
        try await eventually("the request to be submitted") {
            (try await TestHTTP.get(cluster.v1 + "/deferred/\(id)", headers: alice).json?["status"] as? String) != "queued"
        }
        let cancel = try await TestHTTP.send(.DELETE, cluster.v1 + "/deferred/\(id)", headers: alice)
        if cancel.status == 200 {
            // It had already ended: a DELETE then deletes its bodies, and the request stays completed.
            #expect(cancel.json?["status"] as? String == "completed" && cancel.json?["purged_at"] is Int)
        } else {
            expectOpenAIError(cancel, 409, code: "already_submitted")
            let objects = try await cluster.waitTerminal([id], key: "key-alice")
            #expect(objects[id]?["status"] as? String == "completed", "a request in a batch is not cancelled")
        }
    }
}
