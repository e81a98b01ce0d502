import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Open-loop load at a fixed rate: each request is timed from when it was due, not from when it
/// went out, so a slow answer is not hidden by the requests it delayed.
enum PassthroughStage {
    struct Figures {
        var p50: Double
        var p99: Double
    }

    static func openLoop(client: HTTPClient, url: String, rate: Double, seconds: Double) async throws -> Figures {
        let count = Int(rate * seconds)
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: Double.self) { group in
            for index in 0..<count {
                let due = start + .milliseconds(Int64(Double(index) / rate * 1000))
                group.addTask {
                    try await Task.sleep(until: due, clock: .continuous)
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.headers.add(name: "Authorization", value: "Bearer sk-bench")
                    request.body = .bytes(ByteBuffer(bytes: Bodies.chat(index: index, maxTokens: 0)))
                    let response = try await client.execute(request, timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    let elapsed = ContinuousClock.now - due
                    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                }
            }
            var all: [Double] = []
            for try await latency in group { all.append(latency) }
            return all
        }
        return Figures(p50: Measure.percentile(latencies, 0.5), p99: Measure.percentile(latencies, 0.99))
    }

    /// Median time to the first chunk of a streamed answer.
    static func firstChunk(client: HTTPClient, url: String, count: Int) async throws -> Double {
        var times: [Double] = []
        for index in 0..<count {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Authorization", value: "Bearer sk-bench")
            let body = #"{"model":"qwen-plus","stream":true,"messages":[{"role":"user","content":"stream \#(index) please"}]}"#
            request.body = .bytes(ByteBuffer(string: body))
            let started = ContinuousClock.now
            let response = try await client.execute(request, timeout: .seconds(30))
            var iterator = response.body.makeAsyncIterator()
            _ = try await iterator.next()
            let elapsed = ContinuousClock.now - started
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            while try await iterator.next() != nil {}
        }
        return Measure.median(times)
    }
}
