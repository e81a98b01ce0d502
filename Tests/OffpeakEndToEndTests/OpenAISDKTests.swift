import Foundation
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// The official OpenAI Python SDK as the client: nothing but a base URL and a header changes.
@Suite(.serialized) struct OpenAISDKTests {
    @Test func theOfficialSDKMakesPlainStreamingAndDeferredCalls() async throws {
        let cluster = try await Cluster(name: "sdk", gateway: ["OFFPEAK_API_KEYS": "key-sdk", "OFFPEAK_FLUSH_MAX_AGE": "0.2"])
        let seen = try await PythonEnvironment.shared.runScript("openai_client.py", [cluster.v1, "key-sdk"])

        let body = try JSONSerialization.data(
            withJSONObject: chatBody(model: "qwen-plus", "Hello from the official SDK"))
        let direct = try await TestHTTP.send(
            .POST, cluster.upstream + "/chat/completions", body: Array(body), headers: [("Authorization", "Bearer sk-upstream")])
        let expected = try #require(((direct.json?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String)

        #expect(seen["plain"] as? String == expected)
        #expect((seen["plain_usage"] as? Int ?? 0) > 0)
        #expect(seen["stream"] as? String == expected)
        #expect((seen["stream_pieces"] as? Int ?? 0) > 1)
        #expect(seen["deferred_status"] as? Int == 202)
        #expect((seen["deferred_id"] as? String)?.hasPrefix("dfr_") == true)
        #expect(seen["deferred_state"] as? String == "completed")
        #expect(seen["deferred_result"] as? String == expected)
    }
}
