import Foundation
import Logging
import OffpeakPostgres
import OffpeakTestSupport
import PostgresNIO
import Testing

/// A pause on one gateway holds on every gateway of a shared PostgreSQL database, and a resume on
/// another lifts it. Needs `OFFPEAK_TEST_POSTGRES_URL` (`.ci/run` sets it).
@Suite struct SharedPauseTests {
    static let adminURL = ProcessInfo.processInfo.environment["OFFPEAK_TEST_POSTGRES_URL"]
    static let admin = [("Authorization", "Bearer sk-admin")]

    @Test(.enabled(if: adminURL != nil, "OFFPEAK_TEST_POSTGRES_URL names no PostgreSQL server"))
    func aPauseOnOneGatewayHoldsOnTheOther() async throws {
        let root = try PostgresStore(url: try #require(Self.adminURL), logger: Logger(label: "shared-pause"))
        let database = "offpeak_pause_\(UUID().uuidString.prefix(8).lowercased())"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await root.run() }
            defer { group.cancelAll() }
            try await root.client.query("CREATE DATABASE \(unescaped: database)")
            let url = Self.adminURL!.replacingOccurrences(of: "/offpeak_test", with: "/\(database)")
            try await run(databaseURL: url)
            _ = try? await root.client.query("DROP DATABASE IF EXISTS \(unescaped: database) WITH (FORCE)")
        }
    }

    func run(databaseURL: String) async throws {
        let simulator = try await OffpeakProcess(
            arguments: ["simulate", "--port", "0", "--batch-delay", "0.5", "--api-key", "sk-upstream"], name: "pause-simulator")
        var environment = Cluster.fastSettings
        environment["OFFPEAK_UPSTREAM_URL"] = simulator.url + "/v1"
        environment["OFFPEAK_UPSTREAM_API_KEY"] = "sk-upstream"
        environment["OFFPEAK_DATABASE"] = databaseURL
        environment["OFFPEAK_ADMIN_KEYS"] = "sk-admin"
        environment["OFFPEAK_FLUSH_MAX_AGE"] = "3"
        let first = try await OffpeakProcess(arguments: ["serve", "--port", "0"], environment: environment, name: "pause-a")
        let second = try await OffpeakProcess(arguments: ["serve", "--port", "0"], environment: environment, name: "pause-b")

        // Queue one request so that the group exists (only groups with requests can be paused), and pause
        // it on the first gateway well before it is due (3 s).
        _ = try await TestHTTP.post(
            second.url + "/v1/chat/completions", json: chatBody(model: "qwen-max", "hold me"), headers: [("Prefer", "respond-async")])
        let paused = try await TestHTTP.post(first.url + "/admin/v1/queues/pause", json: ["model": "qwen-max"], headers: Self.admin)
        #expect((paused.json?["data"] as? [[String: Any]])?.count == 1, "\(paused.text)")
        var ids: [String] = []
        for index in 0..<3 {
            let answer = try await TestHTTP.post(
                second.url + "/v1/chat/completions", json: chatBody(model: "qwen-max", "held \(index)"), headers: [("Prefer", "respond-async")])
            ids.append(try #require(answer.json?["id"] as? String))
        }
        // Due by age after 3 s; both gateways' flushers look at least once a second, and each reports
        // the four it saw and left: wait until the group is 5 s old and both have reported it.
        let depth = #"offpeak_queue_depth{upstream="default",endpoint="/v1/chat/completions",model="qwen-max"} 4"#
        var queues: [[String: Any]] = []
        var depths: [String] = []
        do {
            // A minute: with the whole suite running, a gateway's flusher pass can take seconds.
            try await eventually("both flushers to have passed the due group by", within: 60) {
                queues = try await TestHTTP.get(second.url + "/admin/v1/queues", headers: Self.admin).json?["data"] as? [[String: Any]] ?? []
                guard (queues.first?["oldest_age_seconds"] as? Int ?? 0) >= 5 else { return false }
                depths = []
                for gateway in [first, second] {
                    depths += try await TestHTTP.get(gateway.url + "/metrics").text.split(separator: "\n")
                        .filter { $0.hasPrefix("offpeak_queue_depth") }.map(String.init)
                }
                return depths.filter { $0.contains(depth) }.count == 2
            }
        } catch {
            Issue.record("last seen: queues \(queues), depth gauges \(depths)")
            throw error
        }
        #expect(queues.first?["paused"] as? Bool == true && queues.first?["queued"] as? Int == 4, "\(queues)")
        #expect(try await upstreamBatches(simulator.url + "/v1").isEmpty, "no gateway flushed a paused group")

        _ = try await TestHTTP.post(second.url + "/admin/v1/queues/resume", json: [:], headers: Self.admin)
        try await eventually("the resumed group to complete", within: 60) {
            var done = 0
            for id in ids where try await TestHTTP.get(first.url + "/v1/deferred/\(id)").json?["status"] as? String == "completed" { done += 1 }
            return done == ids.count
        }
    }
}
