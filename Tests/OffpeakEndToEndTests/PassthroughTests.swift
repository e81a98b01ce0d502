import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// Calls that are not deferred reach the provider unchanged, and its answers come back unchanged.
@Suite(.serialized) struct PassthroughTests {
    let upstreamKey = [("Authorization", "Bearer sk-upstream")]

    @Test func aPlainCallGivesTheSameStatusAndBytesAsTheProvider() async throws {
        let cluster = try await Cluster(name: "passthrough")
        let body = try JSONSerialization.data(withJSONObject: chatBody(model: "qwen-plus", "Hello there", extra: ["n": 1]))
        let via = try await TestHTTP.send(.POST, cluster.v1 + "/chat/completions", body: Array(body))
        let direct = try await TestHTTP.send(.POST, cluster.upstream + "/chat/completions", body: Array(body), headers: upstreamKey)
        #expect(via.status == 200)
        #expect(via.status == direct.status)
        #expect(via.body == direct.body)
        #expect(via.headers.first(name: "Content-Type") == direct.headers.first(name: "Content-Type"))

        // Errors and other paths pass through as well, with the gateway's key in place of the client's.
        let failing = try JSONSerialization.data(withJSONObject: chatBody(model: "qwen-plus", "boom [sim:status=503]"))
        let viaError = try await TestHTTP.send(.POST, cluster.v1 + "/chat/completions", body: Array(failing))
        let directError = try await TestHTTP.send(.POST, cluster.upstream + "/chat/completions", body: Array(failing), headers: upstreamKey)
        #expect(viaError.status == 503)
        #expect(viaError.body == directError.body)
        let viaMissing = try await TestHTTP.get(cluster.v1 + "/files/file-nope")
        let directMissing = try await TestHTTP.get(cluster.upstream + "/files/file-nope", headers: upstreamKey)
        #expect(viaMissing.status == 404)
        #expect(viaMissing.body == directMissing.body)
        #expect(try await TestHTTP.send(.POST, cluster.v1 + "/chat/completions", body: Array(body), headers: [("Offpeak-Defer", "never")]).status == 200)
    }

    @Test func aStreamedCallIsRelayedChunkByChunk() async throws {
        let cluster = try await Cluster(name: "stream", simulatorArguments: ["--stream-chunk-delay", "0.05"])
        let body = try JSONSerialization.data(
            withJSONObject: chatBody(model: "qwen-plus", "Stream a few words back to me please", extra: ["stream": true]))

        var request = HTTPClientRequest(url: cluster.v1 + "/chat/completions")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await TestHTTP.client.execute(request, timeout: .seconds(30))
        #expect(response.status.code == 200)
        #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
        var reads: [[UInt8]] = []
        for try await buffer in response.body { reads.append(Array(buffer: buffer)) }
        let relayed = reads.flatMap { $0 }

        let direct = try await TestHTTP.send(.POST, cluster.upstream + "/chat/completions", body: Array(body), headers: upstreamKey)
        #expect(relayed == direct.body, "the stream's bytes are the provider's")
        #expect(reads.count > 3, "the stream arrived in pieces, not buffered whole")
        #expect(!String(decoding: reads[0], as: UTF8.self).contains("[DONE]"), "the first piece came before the provider finished")
    }
}
