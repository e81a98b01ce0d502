import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The gateway's resident memory at rest, holding 100,000 queued requests (four models of 25,000,
/// under every flush threshold).
enum MemoryStage {
    static func run(client: HTTPClient, upstream: String) async throws -> Double {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let gateway = try await Child(
            ["serve", "--port", "0"],
            environment: [
                "OFFPEAK_UPSTREAM_URL": upstream, "OFFPEAK_UPSTREAM_API_KEY": "sk-bench",
                "OFFPEAK_DATABASE": folder.appendingPathComponent("offpeak.sqlite").path,
                "OFFPEAK_FLUSH_MAX_REQUESTS": "50000", "OFFPEAK_FLUSH_MAX_AGE": "86400",
            ])
        defer { gateway.stop() }
        let total = 100_000
        let url = gateway.url + "/v1/chat/completions"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<64 {
                group.addTask {
                    for index in stride(from: worker, to: total, by: 64) {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.headers.add(name: "Prefer", value: "respond-async")
                        request.body = .bytes(ByteBuffer(bytes: Bodies.chat(model: "model-\(index % 4)", index: index)))
                        let response = try await client.execute(request, timeout: .seconds(60))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        guard response.status == .accepted else { throw BenchFailure("an accept was answered \(response.status)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        // At rest: let the flusher take a look or two, then read the resident size.
        try await Task.sleep(for: .seconds(3))
        return Measure.status("VmRSS", pid: gateway.pid)
    }
}
