import Foundation
import NIOHTTP1
import OffpeakTestSupport
import Synchronization
import Testing

/// The store's faults on real components: a SQLite file on a filesystem the test fills, and a
/// PostgreSQL server the test stops and starts under load. While the store cannot write, every
/// deferred call is answered 202 or 503 `store_unavailable` (never a 500, never a 202 for
/// something not stored); `/readyz` names the fault; passthrough and reads go on; once the store
/// recovers the gateway takes calls again without a restart, and every request it accepted ends.
@Suite(.serialized) struct StoreFaultTests {
    @Test(.enabled(if: SmallFilesystem.available, "a tmpfs needs root"))
    func aFullDiskAnswers503KeepsEvery202AndRecoversWithoutARestart() async throws {
        let filesystem = try SmallFilesystem(megabytes: 24)
        let cluster = try await Cluster(name: "disk-full", gateway: ["OFFPEAK_DATABASE": filesystem.path + "/offpeak.sqlite"])
        var accepted = try await cluster.sendMany(count: 20, models: ["qwen-plus"])

        filesystem.fill()
        let padding = String(repeating: "a long prompt ", count: 300)
        var refusal: TestHTTP.Answer?
        for index in 0..<500 where refusal == nil {
            let answer = try await cluster.deferred(chatBody(model: "qwen-plus", padding + "\(index)"))
            if answer.status == 202, let id = answer.json?["id"] as? String {
                accepted.append(id)
            } else {
                refusal = answer
            }
        }
        let refused = try #require(refusal, "the full disk was noticed")
        #expect(refused.status == 503 && refused.errorCode == "store_unavailable", "\(refused.status) \(refused.text)")
        #expect(refused.headers["Retry-After"].first == "5")

        let ready = try await TestHTTP.get(cluster.gateway.url + "/readyz")
        #expect(ready.status == 503 && ready.json?["reason"] as? String == "disk_full", "\(ready.text)")
        let passthrough = try await TestHTTP.post(cluster.v1 + "/chat/completions", json: chatBody(model: "qwen-plus", "now"))
        #expect(passthrough.status == 200, "passthrough does not need the disk")
        for id in accepted.prefix(3) {
            #expect(try await cluster.object(id)?["id"] as? String == id, "reads go on")
        }

        try filesystem.free()
        try await eventually("a deferred call to be accepted again", within: 30) {
            let answer = try await cluster.deferred(chatBody(model: "qwen-plus", "after"))
            guard answer.status == 202, let id = answer.json?["id"] as? String else { return false }
            accepted.append(id)
            return true
        }
        try await eventually("/readyz to say ready", within: 30) {
            try await TestHTTP.get(cluster.gateway.url + "/readyz").status == 200
        }
        let objects = try await cluster.waitTerminal(accepted, within: 120)
        #expect(objects.values.allSatisfy { $0["status"] as? String == "completed" }, "every 202 kept and finished")
    }

    @Test(.enabled(if: ScratchPostgres.adminURL != nil, "OFFPEAK_TEST_POSTGRES_URL names no PostgreSQL server"))
    func postgreSQLStoppedAndStartedUnderLoad() async throws {
        let server = try OwnPostgres()
        let cluster = try await Cluster(name: "postgres-down", gateway: ["OFFPEAK_DATABASE": server.url])
        let load = Load()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await load.run(cluster, concurrency: 8) }
            // In steady state first: calls accepted and a batch upstream.
            try await eventually("calls to be accepted and batched", within: 60) {
                guard load.count(202) >= 100 else { return false }
                return try await !cluster.upstreamBatchIDs().isEmpty
            }
            try server.halt()
            try await eventually("a call to be refused", within: 30) { load.count(503) > 0 }
            let ready = try await TestHTTP.get(cluster.gateway.url + "/readyz")
            #expect(ready.status == 503 && ready.json?["reason"] as? String == "unreachable", "\(ready.text)")
            let passthrough = try await TestHTTP.post(cluster.v1 + "/chat/completions", json: chatBody(model: "qwen-plus", "now"))
            #expect(passthrough.status == 200, "passthrough does not need the database")

            try server.resume()
            let before = load.count(202)
            try await eventually("calls to be accepted again", within: 60) { load.count(202) >= before + 20 }
            load.stop()
            try await group.waitForAll()
        }
        let answers = load.answers
        #expect(answers.allSatisfy { $0.status == 202 || ($0.status == 503 && $0.code == "store_unavailable") },
            "\(Set(answers.map { "\($0.status) \($0.code ?? "")" }))")
        // Within intake's deadlines: 5 s for a connection, then 15 s for the statement's answer.
        let late = answers.filter { $0.status == 0 || $0.seconds >= 20 }
        #expect(late.isEmpty, "answered within intake's deadlines: \(late.map { "\($0.status) \($0.code ?? "") after \($0.seconds) s" })")
        // Every pass of every worker ends after the restart (none waits on a connection the server
        // closed), so every request accepted finishes.
        var objects: [String: [String: Any]] = [:]
        do {
            objects = try await cluster.waitTerminal(answers.compactMap(\.id), within: 60)
        } catch {
            let log = cluster.gateway.log.split(separator: "\n")
            let faults = log.filter { [" warning ", " error ", " notice "].contains(where: $0.contains) && !$0.contains("psql_connection_id") }
            Issue.record(
                """
                \(error)
                the gateway's warnings and errors: \(faults.suffix(40).joined(separator: "\n"))
                its log ends: \(log.suffix(12).joined(separator: "\n"))
                """)
        }
        #expect(objects.values.allSatisfy { $0["status"] as? String == "completed" }, "every 202 kept and finished")
    }
}

/// Deferred calls sent without pause by `concurrency` clients until stopped, with their answers.
final class Load: Sendable {
    struct Answer: Sendable {
        var status: Int
        var id: String?
        var code: String?
        var started = Date()
        var seconds = 0.0
    }

    private let state = Mutex((answers: [Answer](), stopped: false))

    var answers: [Answer] { state.withLock { $0.answers } }
    func count(_ status: Int) -> Int { state.withLock { $0.answers.filter { $0.status == status }.count } }
    func stop() { state.withLock { $0.stopped = true } }

    func run(_ cluster: Cluster, concurrency: Int) async {
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<concurrency {
                group.addTask {
                    var index = 0
                    while !self.state.withLock({ $0.stopped }) {
                        index += 1
                        var answer: Answer
                        let started = Date()
                        do {
                            let reply = try await cluster.deferred(chatBody(model: "qwen-plus", "client \(client) call \(index)"))
                            answer = Answer(status: reply.status, id: reply.status == 202 ? reply.json?["id"] as? String : nil, code: reply.errorCode)
                        } catch {
                            answer = Answer(status: 0, code: "\(error)")
                        }
                        answer.started = started
                        answer.seconds = Date().timeIntervalSince(started)
                        self.state.withLock { $0.answers.append(answer) }
                    }
                }
            }
        }
    }
}
