import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import OffpeakGateway
import OffpeakTestSupport
import OffpeakCore
import Testing

/// A call deferred by a policy goes through the same intake as `Prefer: respond-async`: a body it
/// cannot defer gets the same error, unless the rule passes such calls through.
@Suite struct PolicyRouteTests {
    typealias R = RouteTesting

    static func policies(undeferrable: String? = nil) -> String {
        """
        policies:
          - name: everything
            action: defer
            hold: 60
        \(undeferrable.map { "    undeferrable: \($0)" } ?? "")
        """
    }

    @Test(arguments: [
        (#"{"model":"#, "invalid_json", 400),
        (#"{"messages":[]}"#, "missing_model", 400),
        (String(repeating: " ", count: 300) + #"{"model":"qwen-plus"}"#, "request_too_large", 413),
    ])
    func anUndeferrableBodyGetsTheSameErrorAsAnExplicitDeferral(body: String, code: String, status: Int) async throws {
        let store = MemoryStore()
        let configuration = try R.configuration(policies: Self.policies(), maxRequestBytes: 256)
        try await R.application(store: store, configuration: configuration).test(.router) { client in
            let policy = try await client.execute(uri: "/v1/chat/completions", method: .post, body: R.body(body))
            let explicit = try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: [.init("Prefer")!: "respond-async"], body: R.body(body))
            #expect(policy.status.code == status && R.errorCode(policy) == code)
            #expect(explicit.status == policy.status && R.errorCode(explicit) == R.errorCode(policy))
            #expect(try await store.list(ListQuery(owner: "")).data.isEmpty)
        }
    }

    @Test(arguments: [#"{"model":"#, #"{"messages":[]}"#, String(repeating: " ", count: 300) + #"{"model":"qwen-plus"}"#])
    func aRuleMayPassUndeferrableBodiesThrough(body: String) async throws {
        try await withInProcessSimulator { upstream in
            let store = MemoryStore()
            var configuration = try R.configuration(policies: Self.policies(undeferrable: "passthrough"), maxRequestBytes: 256)
            configuration.upstreamURL = upstream
            let direct = try await TestHTTP.send(
                .POST, upstream + "/chat/completions", body: Array(body.utf8), headers: [("Authorization", "Bearer sk-test")])
            try await R.application(store: store, configuration: configuration).test(.router) { client in
                let answer = try await client.execute(uri: "/v1/chat/completions", method: .post, body: R.body(body))
                #expect(answer.status.code == direct.status, "the provider's own answer")
                #expect(Array(buffer: answer.body) == direct.body || direct.status == 200)
                #expect(try await store.list(ListQuery(owner: "")).data.isEmpty)
            }
        }
    }
}
