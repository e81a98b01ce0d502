import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Calls that pass straight through: their latency one at a time, directly and through the
/// gateway, and the gateway's CPU per call under load against the simulator's.
enum PassthroughStage {
    struct Figures {
        var p50: Double
        var p99: Double
    }

    /// `count` calls one at a time, each timed from send to the end of its answer.
    static func oneAtATime(client: HTTPClient, url: String, count: Int) async throws -> Figures {
        var latencies: [Double] = []
        for index in 0..<count {
            let request = post(url, body: ByteBuffer(bytes: Bodies.chat(index: index, maxTokens: 0)))
            let started = ContinuousClock.now
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { throw BenchFailure("a passthrough call was answered \(response.status)") }
            latencies.append(Measure.seconds(since: started))
        }
        return Figures(p50: Measure.percentile(latencies, 0.5), p99: Measure.percentile(latencies, 0.99))
    }

    struct CPU {
        /// CPU seconds per answered call, of the gateway and of the simulator behind it.
        var gateway: Double
        var simulator: Double
        var requestsPerSecond: Double
    }

    /// wrk at 64 connections through the gateway to the simulator; each process's CPU time (from
    /// `/proc/PID/stat`) over the run, per call.
    static func cpu(url: String, gateway: Int32, simulator: Int32, seconds: Int) throws -> CPU {
        let (gatewayBefore, simulatorBefore) = (Measure.cpuSeconds(pid: gateway), Measure.cpuSeconds(pid: simulator))
        let figures = try AcceptStage.wrk(url: url, seconds: seconds, script: script)
        let calls = Double(max(1, figures.requests))
        return CPU(
            gateway: (Measure.cpuSeconds(pid: gateway) - gatewayBefore) / calls,
            simulator: (Measure.cpuSeconds(pid: simulator) - simulatorBefore) / calls, requestsPerSecond: figures.requestsPerSecond)
    }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("passthrough.lua").path
    }

    /// Median time to the first chunk of a streamed answer.
    static func firstChunk(client: HTTPClient, url: String, count: Int) async throws -> Double {
        var times: [Double] = []
        for index in 0..<count {
            let body = #"{"model":"qwen-plus","stream":true,"messages":[{"role":"user","content":"stream \#(index) please"}]}"#
            let request = post(url, body: ByteBuffer(string: body))
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

    /// A chat call as an app makes it: JSON, with its key.
    static func post(_ url: String, body: ByteBuffer) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: "Bearer sk-bench")
        request.body = .bytes(body)
        return request
    }
}
