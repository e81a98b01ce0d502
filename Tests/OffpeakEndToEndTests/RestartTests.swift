import Foundation
import Synchronization
import OffpeakTestSupport
import Testing

/// Nothing answered 202 is lost: not to SIGKILL, not to SIGTERM.
@Suite(.serialized) struct RestartTests {
    @Test func everyAcceptedRequestCompletesAfterSIGKILLAndRestart() async throws {
        let cluster = try await Cluster(name: "crash", batchDelay: 1)
        let ids = try await cluster.sendMany(count: 200, models: ["qwen-plus", "qwen-flash"])
        cluster.gateway.kill()
        #expect(ids.count == 200)
        try await cluster.restartGateway()
        let objects = try await cluster.waitTerminal(ids)
        #expect(objects.values.allSatisfy { $0["status"] as? String == "completed" })
        var seen: [String: Int] = [:]
        for batch in try await cluster.upstreamBatches() {
            for id in batch.customIDs { seen[id, default: 0] += 1 }
        }
        #expect(Set(seen.keys) == Set(ids))
        #expect(seen.values.allSatisfy { $0 == 1 }, "no request was sent in two batches")
    }

    @Test func everyAcknowledgedRequestSurvivesASIGKILLUnderLoad() async throws {
        let cluster = try await Cluster(name: "kill-under-load", gateway: ["OFFPEAK_FLUSH_MAX_AGE": "3600", "OFFPEAK_FLUSH_MAX_REQUESTS": "50000"])
        let acknowledged = Acknowledged()
        let gateway = cluster.gateway
        // 32 senders keep requests in flight; the gateway is killed while they are.
        await withTaskGroup(of: Void.self) { group in
            for sender in 0..<32 {
                group.addTask {
                    var index = 0
                    while true {
                        index += 1
                        guard let answer = try? await cluster.deferred(chatBody(model: "qwen-plus", "load \(sender)-\(index)")) else { return }
                        if answer.status == 202, let id = answer.json?["id"] as? String { acknowledged.ids.withLock { $0.append(id) } }
                    }
                }
            }
            try? await eventually("some load", within: 60) { acknowledged.ids.withLock { $0.count } >= 300 }
            gateway.kill()
        }
        let ids = acknowledged.ids.withLock { $0 }
        try await cluster.restartGateway()
        var missing: [String] = []
        for id in ids where try await TestHTTP.get(cluster.v1 + "/deferred/\(id)").status != 200 { missing.append(id) }
        #expect(ids.count >= 300)
        #expect(missing.isEmpty, "\(missing.count) of \(ids.count) acknowledged requests were lost")
    }

    @Test func sigtermStopsCleanlyAndTheWorkResumesOnStart() async throws {
        let cluster = try await Cluster(name: "sigterm", batchDelay: 1)
        let ids = try await cluster.sendMany(count: 40, models: ["qwen-plus"])
        let status = await cluster.gateway.terminate()
        #expect(status == 0, "graceful shutdown exits 0")
        try await cluster.restartGateway()
        let objects = try await cluster.waitTerminal(ids)
        #expect(objects.values.allSatisfy { $0["status"] as? String == "completed" })
    }

    @Test func serveRefusesToStartWithoutAnUpstreamKey() async throws {
        let process = Process()
        process.executableURL = OffpeakProcess.binary
        process.arguments = ["serve", "--port", "0", "--database", FileManager.default.temporaryDirectory.appendingPathComponent("never-\(UUID().uuidString).sqlite").path]
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OFFPEAK_") }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0)
        #expect(message.contains("OFFPEAK_UPSTREAM_API_KEY"))
        #expect(message.split(separator: "\n").count == 1, "one clear line")
    }
}

/// The ids of the requests answered 202, from many senders.
final class Acknowledged: Sendable {
    let ids = Mutex<[String]>([])
}
