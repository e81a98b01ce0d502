import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OffpeakCore
import OffpeakGateway
import OffpeakTestSupport
import Testing

/// While the store cannot write: a deferred call is answered 503 `store_unavailable` with
/// `Retry-After` and nothing is stored; reads go on; `/readyz` names the fault; all recovers
/// by itself once the store does.
@Suite struct StoreFaultRouteTests {
    typealias R = RouteTesting
    static let chat = #"{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}]}"#
    static let prefer: HTTPFields = [.init("Prefer")!: "respond-async"]

    @Test func aFullDiskAnswers503StoresNothingAndRecovers() async throws {
        let store = MemoryStore()
        try await R.application(store: store, configuration: try R.configuration()).test(.router) { client in
            let before = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: Self.prefer, body: R.body(Self.chat))
            let id = try #require(R.json(before)?["id"] as? String)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)

            store.injectFault(StoreFault(.diskFull, "SQLite error 13: database or disk is full"))
            let refused = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: Self.prefer, body: R.body(Self.chat))
            #expect(refused.status == .serviceUnavailable && R.errorCode(refused) == "store_unavailable")
            #expect(refused.headers[.retryAfter] == "5")
            #expect((R.json(refused)?["error"] as? [String: Any])?["type"] as? String == "server_error")
            #expect(try await store.list(ListQuery(owner: "")).data.map(\.id) == [id], "nothing stored for the refused call")

            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(R.json(ready)?["status"] as? String == "store_unavailable" && R.json(ready)?["reason"] as? String == "disk_full")
            #expect(!String(buffer: ready.body).contains("SQLite"), "the driver's words stay in the log")

            let read = try await client.execute(uri: "/v1/deferred/\(id)", method: .get)
            #expect(read.status == .ok && R.json(read)?["id"] as? String == id, "reads go on")

            store.injectFault(nil)
            let after = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: Self.prefer, body: R.body(Self.chat))
            #expect(after.status == .accepted, "no restart needed")
            try await eventually("/readyz to say ready again", within: 60) {
                try await client.execute(uri: "/readyz", method: .get).status == .ok
            }
        }
    }

    @Test(arguments: [StoreFault.Kind.readOnly, .unreachable])
    func readyzNamesTheFault(kind: StoreFault.Kind) async throws {
        let store = MemoryStore()
        store.injectFault(StoreFault(kind, "detail"))
        try await R.application(store: store, configuration: try R.configuration()).test(.router) { client in
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable && R.json(ready)?["reason"] as? String == kind.rawValue)
            #expect(ready.headers[.retryAfter] != nil)
        }
    }

    @Test func aPolicyDeferredCallIsServedInRealTimeWhileTheStoreCannotWrite() async throws {
        try await withInProcessSimulator { upstream in
            let store = MemoryStore()
            store.injectFault(StoreFault(.unreachable, "connection refused"))
            var configuration = try R.configuration(policies: PolicyRouteTests.policies())
            configuration.upstreamURL = upstream
            try await R.application(store: store, configuration: configuration).test(.router) { client in
                let answer = try await client.execute(uri: "/v1/chat/completions", method: .post, body: R.body(Self.chat))
                #expect(answer.status == .ok && R.json(answer)?["object"] as? String == "chat.completion")
                #expect(try await store.list(ListQuery(owner: "")).data.isEmpty)
            }
        }
    }
}
