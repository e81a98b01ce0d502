import Foundation
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// The queue's bounds under concurrent load (64 connections), on SQLite and on PostgreSQL: never
/// more queued than the bound, in all or for one key; every refused call a 429 `queue_full` with
/// `Retry-After`, and nothing stored for it.
@Suite struct QueueBoundsE2ETests {
    static let settings = [
        "OFFPEAK_API_KEYS": "key-a,key-b", "OFFPEAK_MAX_QUEUED": "50", "OFFPEAK_MAX_QUEUED_PER_KEY": "30",
        "OFFPEAK_FLUSH_MAX_AGE": "3600", "OFFPEAK_FLUSH_MAX_REQUESTS": "10000",
    ]

    @Test func theBoundsHoldUnderLoadOnSQLite() async throws {
        try await run(try await Cluster(name: "bounds", gateway: Self.settings))
    }

    @Test(.enabled(if: ScratchPostgres.adminURL != nil, "OFFPEAK_TEST_POSTGRES_URL names no PostgreSQL server"))
    func theBoundsHoldUnderLoadOnPostgreSQL() async throws {
        try await ScratchPostgres.with("bounds") { url in
            try await run(try await Cluster(name: "bounds-pg", gateway: Self.settings.merging(["OFFPEAK_DATABASE": url]) { $1 }))
        }
    }

    func run(_ cluster: Cluster) async throws {
        let answers = try await withThrowingTaskGroup(of: (String, TestHTTP.Answer).self) { group in
            var answers: [(String, TestHTTP.Answer)] = []
            var next = 0
            func add() {
                let index = next
                next += 1
                let key = index % 2 == 0 ? "key-a" : "key-b"
                group.addTask { (key, try await cluster.deferred(chatBody(model: "qwen-plus", "request \(index)"), key: key)) }
            }
            for _ in 0..<64 { add() }
            while let answer = try await group.next() {
                answers.append(answer)
                if next < 200 { add() }
            }
            return answers
        }
        let accepted = answers.filter { $0.1.status == 202 }
        let refused = answers.filter { $0.1.status != 202 }
        // Never passed; reached, less at most the few a background count taken mid-run counts twice.
        #expect(accepted.count <= 50 && accepted.count >= 45, "the total bound, reached and not passed: \(accepted.count)")
        for key in ["key-a", "key-b"] {
            #expect(accepted.filter { $0.0 == key }.count <= 30, "the bound of \(key)")
        }
        #expect(refused.allSatisfy { $0.1.status == 429 && $0.1.errorCode == "queue_full" && $0.1.headers["Retry-After"].first == "3600" })
        var stored = 0
        for key in ["key-a", "key-b"] {
            let page = try await TestHTTP.get(cluster.v1 + "/deferred?status=queued&limit=100", headers: [("Authorization", "Bearer \(key)")])
            let count = (page.json?["data"] as? [[String: Any]])?.count ?? -1
            #expect(count == accepted.filter { $0.0 == key }.count, "what \(key) was told is queued is what is stored")
            stored += count
        }
        #expect(stored == accepted.count, "nothing stored for a refused call")
    }
}
