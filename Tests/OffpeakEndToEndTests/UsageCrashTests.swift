import Foundation
import OffpeakTestSupport
import Testing

/// The ledger under SIGKILL: a gateway killed while it settles a 5,000-line output file, then
/// restarted, reports totals equal to the sum over the requests, none counted twice.
@Suite struct UsageCrashTests {
    @Test func aKillWhileSettlingCountsEveryRequestOnce() async throws {
        let count = 5_000
        // The output file arrives in 64 KiB pieces a quarter of a second apart, so the kill lands mid-file.
        let cluster = try await Cluster(
            name: "settle-kill", batchDelay: 1, simulatorArguments: ["--file-chunk-delay", "0.25"],
            gateway: ["OFFPEAK_FLUSH_MAX_REQUESTS": "\(count)", "OFFPEAK_FLUSH_MAX_AGE": "3600"])
        let ids = try await cluster.sendMany(count: count, models: ["qwen-plus"])
        #expect(ids.count == count)

        var settledBeforeKill = 0
        try await eventually("the output file to be part-settled", within: 120) {
            settledBeforeKill = try await Self.totals(cluster)["requests"] as? Int ?? 0
            return settledBeforeKill > 0
        }
        cluster.gateway.kill()
        #expect(settledBeforeKill < count, "killed mid-file")
        try await cluster.restartGateway()

        var totals: [String: Any] = [:]
        try await eventually("every request settled after the restart", within: 120) {
            totals = try await Self.totals(cluster)
            guard totals["requests"] as? Int ?? 0 >= count else { return false }
            return try await cluster.count(status: "completed") == count
        }
        let objects = try await cluster.listed(status: "completed")
        #expect(objects.count == count)
        var prompt = 0
        var completion = 0
        var billed = Decimal(0)
        for object in objects {
            let usage = object["usage"] as? [String: Any] ?? [:]
            prompt += usage["prompt_tokens"] as? Int ?? 0
            completion += usage["completion_tokens"] as? Int ?? 0
            billed += Decimal(string: "\((object["cost"] as? [String: Any])?["billed"] as? NSNumber ?? 0)") ?? 0
        }
        #expect(totals["requests"] as? Int == count && totals["completed"] as? Int == count, "none counted twice")
        #expect(totals["prompt_tokens"] as? Int == prompt && totals["completion_tokens"] as? Int == completion)
        #expect(Decimal(string: "\(totals["billed"] as? NSNumber ?? 0)") == billed)
        #expect(billed > 0)
    }

    static func totals(_ cluster: Cluster) async throws -> [String: Any] {
        try await TestHTTP.get(cluster.v1 + "/usage").json?["totals"] as? [String: Any] ?? [:]
    }
}
