import AsyncHTTPClient
import Foundation
import NIOCore

/// Durable accepts under wrk: 64 connections, ~1 KB deferred chat requests, each 202 after its
/// commit, beside the accept baseline under the same load.
enum AcceptStage {
    struct Figures {
        var requestsPerSecond: Double
        var p50: Double
        var p99: Double
        var errors: Int
        var requests = 0
    }

    /// The accept baseline's wrk script: one ~1 KB chat request, `Prefer: respond-async`, one model
    /// (so the run fills one group, as the target asks: a 50,000-request file claimed mid-run).
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("AcceptBaseline/post.lua").path
    }

    /// One run against a fresh gateway and database. A group's file is flushed at 50,000 requests,
    /// so at this machine's rates one is claimed and uploaded during the run; `flushedRequests`
    /// says how many were.
    static func run(upstream: String, seconds: Int, database: String? = nil) async throws -> (Figures, flushed: Int) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let environment = [
            "OFFPEAK_UPSTREAM_URL": upstream, "OFFPEAK_UPSTREAM_API_KEY": "sk-bench",
            "OFFPEAK_DATABASE": database ?? folder.appendingPathComponent("offpeak.sqlite").path,
            "OFFPEAK_FLUSH_MAX_REQUESTS": "50000", "OFFPEAK_FLUSH_MAX_AGE": "3600",
        ]
        let gateway = try await Child(["serve", "--port", "0"], environment: environment)
        defer { gateway.stop() }
        let figures = try wrk(url: gateway.url + "/v1/chat/completions", seconds: seconds)
        return (figures, try await batchedRequests(gateway.url))
    }

    /// Requests the gateway has put in batch files so far (from its `/metrics`).
    static func batchedRequests(_ gateway: String) async throws -> Int {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: gateway + "/metrics"), timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 16 << 20))
        let line = text.split(separator: "\n").first { $0.hasPrefix("offpeak_batched_requests_total") }
        return line.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }.map { Int($0) } ?? 0
    }

    /// The accept baseline (`db`: a bare handler and a minimal SQLite group commit; `nodb`: the bare
    /// handler alone), under the same load.
    static func baseline(_ mode: String, seconds: Int) async throws -> Figures {
        let port = Int.random(in: 20_000..<40_000)
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-accept-baseline-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) } }
        let process = Process()
        process.executableURL = Child.binary.deletingLastPathComponent().appendingPathComponent("offpeak-accept-baseline")
        process.arguments = [mode, String(port), database]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let url = "http://127.0.0.1:\(port)/v1/chat/completions"
        let deadline = Date().addingTimeInterval(30)
        while (try? await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(1))) == nil {
            guard process.isRunning, Date() < deadline else { throw BenchFailure("the accept baseline did not start") }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try wrk(url: url, seconds: seconds)
    }

    static func wrk(url: String, seconds: Int, connections: Int = 64, script: String = script) throws -> Figures {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["wrk", "-t2", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", script, url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchFailure("wrk failed (is it installed? apt-get install wrk): \(text)") }
        return parse(text)
    }

    static func parse(_ text: String) -> Figures {
        var figures = Figures(requestsPerSecond: 0, p50: .nan, p99: .nan, errors: 0)
        for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if line.contains(" requests in "), let value = fields.first.flatMap({ Int($0) }) { figures.requests = value }
            if line.hasPrefix("Requests/sec:"), let value = fields.last.flatMap({ Double($0) }) { figures.requestsPerSecond = value }
            if line.hasPrefix("Non-2xx"), let value = fields.last.flatMap({ Int($0) }) { figures.errors += value }
            if line.hasPrefix("Socket errors") { figures.errors += 1 }
            if fields.count == 2, fields[0] == "50%" { figures.p50 = seconds(String(fields[1])) }
            if fields.count == 2, fields[0] == "99%" { figures.p99 = seconds(String(fields[1])) }
        }
        return figures
    }

    static func seconds(_ text: String) -> Double {
        for (suffix, scale) in [("us", 1e-6), ("ms", 1e-3), ("s", 1.0)] where text.hasSuffix(suffix) {
            return (Double(text.dropLast(suffix.count)) ?? .nan) * scale
        }
        return .nan
    }
}
