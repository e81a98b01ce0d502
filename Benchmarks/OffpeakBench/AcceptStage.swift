import Foundation

/// Durable accepts under wrk: 64 connections, ~1 KB deferred chat requests, each 202 after its commit.
enum AcceptStage {
    struct Figures {
        var requestsPerSecond: Double
        var p50: Double
        var p99: Double
        var errors: Int
    }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("accept.lua").path
    }

    /// One run against a fresh gateway and database; `naive` commits each request on its own.
    static func run(upstream: String, naive: Bool, seconds: Int, database: String? = nil, flushing: Bool = false) async throws -> Figures {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var environment = [
            "OFFPEAK_UPSTREAM_URL": upstream, "OFFPEAK_UPSTREAM_API_KEY": "sk-bench",
            "OFFPEAK_DATABASE": database ?? folder.appendingPathComponent("offpeak.sqlite").path,
            // Accepts alone: no flush starts during the run (the flush stage measures flushing), so the
            // simulator's batch work does not share the two cores. `flushing: true` puts it back.
            "OFFPEAK_FLUSH_MAX_REQUESTS": flushing ? "10000" : "50000", "OFFPEAK_FLUSH_MAX_AGE": flushing ? "60" : "3600",
        ]
        if naive { environment["OFFPEAK_SQLITE_GROUP_COMMIT"] = "false" }
        let gateway = try await Child(["serve", "--port", "0"], environment: environment)
        defer { gateway.stop() }
        return try wrk(url: gateway.url + "/v1/chat/completions", seconds: seconds)
    }

    static func wrk(url: String, seconds: Int, connections: Int = 64) throws -> Figures {
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
