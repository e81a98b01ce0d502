import Foundation
import Logging
import OffpeakPostgres
import PostgresNIO
import OffpeakTestSupport
import Testing

/// Three gateway processes on one PostgreSQL database behind no leader: one is killed with work in
/// its hands, and the others finish everything. Needs `OFFPEAK_TEST_POSTGRES_URL` (`.ci/run` sets it).
@Suite(.serialized) struct ScaleOutTests {
    static let models = ["qwen-plus", "qwen-max", "qwen-turbo", "qwen-long"]

    @Test(.enabled(if: ScratchPostgres.adminURL != nil, "OFFPEAK_TEST_POSTGRES_URL names no PostgreSQL server"))
    func threeGatewaysShareOneQueueAndFinishTheWorkOfOneThatWasKilled() async throws {
        try await ScratchPostgres.with("scale") { url in
            let shared = try PostgresStore(url: url, logger: Logger(label: "scale-out"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await shared.run() }
                defer { group.cancelAll() }
                try await run(databaseURL: url, shared: shared)
            }
        }
    }

    func run(databaseURL: String, shared: PostgresStore) async throws {
        let simulator = try await OffpeakProcess(
            arguments: ["simulate", "--port", "0", "--batch-delay", "1", "--api-key", "sk-upstream"], name: "scale-simulator")
        let receiver = try await Receiver.start()
        var environment = Cluster.fastSettings
        environment["OFFPEAK_FLUSH_MAX_REQUESTS"] = "100"
        environment["OFFPEAK_UPSTREAM_URL"] = simulator.url + "/v1"
        environment["OFFPEAK_UPSTREAM_API_KEY"] = "sk-upstream"
        environment["OFFPEAK_DATABASE"] = databaseURL
        environment["OFFPEAK_WEBHOOK_SECRET"] = Receiver.secret
        environment["OFFPEAK_ALLOW_PRIVATE_CALLBACKS"] = "true"
        environment["OFFPEAK_WEBHOOK_RETRY_DELAYS"] = "0.2,0.5,1,1,1"
        let settings = environment
        // Started together: they migrate the new database at the same moment.
        let gateways = try await withThrowingTaskGroup(of: (Int, OffpeakProcess).self) { group in
            for index in 0..<3 {
                group.addTask { (index, try await OffpeakProcess(arguments: ["serve", "--port", "0"], environment: settings, name: "scale-\(index)")) }
            }
            var started: [Int: OffpeakProcess] = [:]
            for try await (index, process) in group { started[index] = process }
            return (0..<3).map { started[$0]! }
        }
        let faults = simulator.url + "/sim/faults"

        // Creates fail for now, so batches stay `preparing`, leased to the gateway that claimed them.
        _ = try await TestHTTP.post(faults, json: ["endpoint": "create", "status": 500, "count": 100_000])
        var ids = try await send(1_500, from: 0, to: gateways, callback: receiver.url + "/ok")
        let victim = gateways[0]
        var held: [String] = []
        try await eventually("the first gateway to hold a batch", within: 60) {
            held = try await heldBatches(by: victim.pid, in: shared)
            return !held.isEmpty
        }
        victim.kill()
        held = try await heldBatches(by: victim.pid, in: shared)
        #expect(!held.isEmpty)
        _ = try await TestHTTP.post(faults, json: ["endpoint": "create", "status": 500, "count": 0])
        // A client long-polls on one gateway for a request another gateway accepted and finishes.
        let watched = ids[1]
        let watcher = gateways[2].url + "/v1/deferred/\(watched)"
        async let waited = Self.timed { try await TestHTTP.get(watcher, headers: [("Prefer", "wait=60")]) }
        ids += try await send(1_500, from: 1_500, to: Array(gateways[1...]), callback: receiver.url + "/ok")
        #expect(Set(ids).count == 3_000)
        let (answer, waitedFrom, answeredAt) = try await waited
        #expect(answer.json?["status"] as? String == "completed", "the long-poll on another gateway sees the result")
        if let completedAt = answer.json?["completed_at"] as? Double {
            // Woken by its periodic re-read (every second), not by the 60 s deadline; timestamps are whole
            // seconds, and the machine is shared with the rest of the suite (CI's once took 11 s).
            #expect(answeredAt - waitedFrom < 59, "answered before the wait's 60 s deadline")
            #expect(answeredAt - completedAt < 20, "soon after it was recorded")
        }

        // Every request completes, whichever gateway took it; any gateway lists them all.
        try await eventually("3,000 requests to complete", within: 180) {
            let rows = try await shared.client.query("SELECT count(*) FROM deferred_requests WHERE status = 'completed'")
            return try await rows.collect().first?.decode(Int.self) == ids.count
        }
        var listed: [String: String] = [:]
        var after: String?
        repeat {
            let page = try await TestHTTP.get(gateways[2].url + "/v1/deferred?limit=100" + (after.map { "&after=\($0)" } ?? "")).json ?? [:]
            let data = page["data"] as? [[String: Any]] ?? []
            for object in data { listed[object["id"] as? String ?? ""] = object["status"] as? String }
            after = (page["has_more"] as? Bool == true) ? data.last?["id"] as? String : nil
        } while after != nil
        #expect(Set(listed.keys) == Set(ids) && listed.values.allSatisfy { $0 == "completed" })
        // The killed gateway's batches were finished by the others.
        for batch in held {
            let state = try await shared.client.query("SELECT state FROM batches WHERE id = \(batch)").collect().first
            #expect(try state?.decode(String.self) == "ended", "batch \(batch) held by the killed gateway was finished")
        }
        // No custom_id in two upstream batches (none expired or failed here, so none was sent twice).
        let upstream = try await upstreamBatches(simulator.url + "/v1")
        let sent = upstream.flatMap(\.customIDs)
        #expect(sent.count == Set(sent).count, "a request never appears in two upstream batches")
        #expect(Set(sent) == Set(ids))
        #expect(upstream.allSatisfy { $0.models.count == 1 }, "one model per file")
        // Every callback delivered once, signed.
        var events: [[String: Any]] = []
        try await eventually("3,000 callbacks", within: 120) {
            events = try await receiver.events()
            return Set(events.compactMap { ($0["data"] as? [String: Any])?["id"] as? String }).count >= ids.count
        }
        #expect(events.allSatisfy { $0["verified"] as? Bool == true })
        #expect(Set(events.compactMap { ($0["data"] as? [String: Any])?["id"] as? String }) == Set(ids))
    }

    /// What `body` returned, and when (seconds since 1970).
    /// `body`'s value, with when it began and when it ended (seconds since 1970).
    static func timed<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> (T, began: Double, ended: Double) {
        let began = Date().timeIntervalSince1970
        let value = try await body()
        return (value, began, Date().timeIntervalSince1970)
    }

    /// `preparing` batches whose lease names the process `pid`.
    func heldBatches(by pid: Int32, in store: PostgresStore) async throws -> [String] {
        let pattern = "%/\(pid)/%"
        let rows = try await store.client.query(
            "SELECT id FROM batches WHERE state = 'preparing' AND lease_holder LIKE \(pattern)")
        var ids: [String] = []
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    /// Sends `count` deferred requests over four models, spread round-robin over `gateways`, 32 at a time.
    func send(_ count: Int, from start: Int, to gateways: [OffpeakProcess], callback: String) async throws -> [String] {
        try await withThrowingTaskGroup(of: String.self) { group in
            var ids: [String] = []
            for index in start..<(start + count) {
                if index - start >= 32, let id = try await group.next() { ids.append(id) }
                let gateway = gateways[index % gateways.count]
                group.addTask {
                    let answer = try await TestHTTP.post(
                        gateway.url + "/v1/chat/completions", json: chatBody(model: Self.models[index % 4], "request \(index)"),
                        headers: [("Prefer", "respond-async"), ("Offpeak-Callback-Url", callback)])
                    guard answer.status == 202, let id = answer.json?["id"] as? String else {
                        Issue.record("request \(index) was not accepted: \(answer.status) \(answer.text)")
                        return ""
                    }
                    return id
                }
            }
            for try await id in group { ids.append(id) }
            return ids
        }
    }
}
