import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The gateway's resident memory at rest, holding 100,000 and then 1,000,000 queued requests (25
/// models of 40,000, under every flush threshold).
enum MemoryStage {
    struct Figures {
        var atHundredThousand: Double
        var atMillion: Double
        /// The gateway's CPU at rest with 1,000,000 queued, in cores (watching the queue).
        var cpuAtMillion: Double
    }

    /// Seconds over which the CPU at rest is read.
    static let restSeconds = 10

    static func run(client: HTTPClient, upstream: String) async throws -> Figures {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let gateway = try await Child(
            ["serve", "--port", "0"],
            environment: [
                "OFFPEAK_UPSTREAM_URL": upstream, "OFFPEAK_UPSTREAM_API_KEY": "sk-bench",
                "OFFPEAK_DATABASE": folder.appendingPathComponent("offpeak.sqlite").path,
                "OFFPEAK_FLUSH_MAX_REQUESTS": "50000", "OFFPEAK_FLUSH_MAX_AGE": "86400",
                // The default bound is 1,000,000 queued, and may count a few in flight twice near it.
                "OFFPEAK_MAX_QUEUED": "2000000",
            ])
        defer { gateway.stop() }
        let url = gateway.url + "/v1/chat/completions"
        try await send(client: client, url: url, 0..<100_000)
        let atHundredThousand = try await atRest(gateway)
        try await send(client: client, url: url, 100_000..<1_000_000)
        let atMillion = try await atRest(gateway)
        let before = Measure.cpuSeconds(pid: gateway.pid)
        try await Task.sleep(for: .seconds(restSeconds))
        let cpu = (Measure.cpuSeconds(pid: gateway.pid) - before) / Double(restSeconds)
        return Figures(atHundredThousand: atHundredThousand, atMillion: atMillion, cpuAtMillion: cpu)
    }

    /// At rest: lets the flusher take a look or two, then reads the resident size.
    static func atRest(_ gateway: Child) async throws -> Double {
        try await Task.sleep(for: .seconds(3))
        return Measure.status("VmRSS", pid: gateway.pid)
    }

    static func send(client: HTTPClient, url: String, _ indexes: Range<Int>) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<64 {
                group.addTask {
                    for index in stride(from: indexes.lowerBound + worker, to: indexes.upperBound, by: 64) {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.headers.add(name: "Prefer", value: "respond-async")
                        request.body = .bytes(ByteBuffer(bytes: Bodies.chat(model: "model-\(index % 25)", index: index)))
                        let response = try await client.execute(request, timeout: .seconds(60))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        guard response.status == .accepted else { throw BenchFailure("an accept was answered \(response.status)") }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
