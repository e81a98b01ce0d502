import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OffpeakCore
import Testing

/// `Prefer: respond-async` and `/v1/deferred` in process: what is accepted is stored and
/// retrievable, and bad input gets an OpenAI-shaped error and stores nothing.
@Suite struct DeferredRouteTests {
    typealias R = RouteTesting
    static let chat = #"{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}]}"#

    @Test func anAcceptedCallIsStoredAnsweredWithItsIdAndCancellable() async throws {
        let store = MemoryStore()
        try await R.application(store: store, configuration: try R.configuration()).test(.router) { client in
            let accepted = try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: [.init("Prefer")!: "respond-async"], body: R.body(Self.chat))
            #expect(accepted.status == .accepted)
            let id = try #require(R.json(accepted)?["id"] as? String)
            #expect(accepted.headers[.location] == "/v1/deferred/\(id)")
            #expect(accepted.headers[.init("Preference-Applied")!] == "respond-async")
            #expect(R.json(accepted)?["status"] as? String == "queued")
            #expect(try await store.request(id: id, owner: "")?.model == "qwen-plus", "committed before the answer")

            let object = try await client.execute(uri: "/v1/deferred/\(id)", method: .get)
            #expect(object.status == .ok && R.json(object)?["id"] as? String == id)
            let result = try await client.execute(uri: "/v1/deferred/\(id)/result", method: .get)
            #expect(result.status == .accepted && result.headers[.retryAfter] != nil, "not yet terminal")
            let list = try await client.execute(uri: "/v1/deferred?limit=10", method: .get)
            #expect((R.json(list)?["data"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])

            let cancelled = try await client.execute(uri: "/v1/deferred/\(id)", method: .delete)
            #expect(cancelled.status == .ok && R.json(cancelled)?["status"] as? String == "cancelled")
            #expect(try await store.backlogs().isEmpty, "nothing left to batch")
            let unknown = try await client.execute(uri: "/v1/deferred/dfr_nope", method: .get)
            #expect(unknown.status == .notFound && R.errorCode(unknown) == "deferred_request_not_found")
        }
    }

    @Test(arguments: [
        (#"{"model":"#, "invalid_json", 400),
        (#"["model"]"#, "invalid_json", 400),
        (#"{"messages":[]}"#, "missing_model", 400),
        (#"{"model":""}"#, "missing_model", 400),
        (#"{"model":"qwen-plus","stream":true}"#, "stream_not_deferrable", 400),
        (String(repeating: " ", count: 300) + #"{"model":"qwen-plus"}"#, "request_too_large", 413),
    ])
    func badBodiesAreRefusedAndStoreNothing(body: String, code: String, status: Int) async throws {
        let store = MemoryStore()
        let configuration = try R.configuration(maxRequestBytes: 256)
        try await R.application(store: store, configuration: configuration).test(.router) { client in
            let answer = try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: [.init("Prefer")!: "respond-async"], body: R.body(body))
            #expect(answer.status.code == status)
            #expect(R.errorCode(answer) == code)
            #expect(try await store.list(ListQuery(owner: "")).data.isEmpty)
        }
    }

    @Test func badHeadersAreRefusedAndAKeyReplaysOrConflicts() async throws {
        let store = MemoryStore()
        try await R.application(store: store, configuration: try R.configuration()).test(.router) { client in
            let prefer = HTTPField.Name("Prefer")!
            let callback = try await client.execute(
                uri: "/v1/chat/completions", method: .post,
                headers: [prefer: "respond-async", .init("Offpeak-Callback-Url")!: "http://127.0.0.1:9/hook"], body: R.body(Self.chat))
            #expect(callback.status == .badRequest && R.errorCode(callback) == "invalid_callback_url")
            let longKey = try await client.execute(
                uri: "/v1/chat/completions", method: .post,
                headers: [prefer: "respond-async", .init("Idempotency-Key")!: String(repeating: "k", count: 256)], body: R.body(Self.chat))
            #expect(longKey.status == .badRequest && R.errorCode(longKey) == "invalid_idempotency_key")
            #expect(try await store.list(ListQuery(owner: "")).data.isEmpty)

            let keyed: HTTPFields = [prefer: "respond-async", .init("Idempotency-Key")!: "job-1"]
            let first = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: keyed, body: R.body(Self.chat))
            let again = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: keyed, body: R.body(Self.chat))
            #expect(R.json(first)?["id"] as? String == R.json(again)?["id"] as? String)
            #expect(again.headers[.init("Idempotent-Replayed")!] == "true")
            let other = try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: keyed, body: R.body(#"{"model":"qwen-max"}"#))
            #expect(other.status == .unprocessableContent && R.errorCode(other) == "idempotency_key_reused")
            #expect(try await store.list(ListQuery(owner: "")).data.count == 1)
        }
    }
}
