import Foundation
import OffpeakTestSupport
import Testing

/// The operator API through real processes: a paused group stays paused across a restart and is
/// never flushed; resumed, an operator's flush sends it at once.
@Suite struct AdminTests {
    static let admin = [("Authorization", "Bearer sk-admin")]

    func queues(_ cluster: Cluster) async throws -> [[String: Any]] {
        try await TestHTTP.get(cluster.gateway.url + "/admin/v1/queues", headers: Self.admin).json?["data"] as? [[String: Any]] ?? []
    }

    func post(_ cluster: Cluster, _ action: String, _ body: [String: Any]) async throws -> [[String: Any]] {
        let answer = try await TestHTTP.post(cluster.gateway.url + "/admin/v1/queues/\(action)", json: body, headers: Self.admin)
        #expect(answer.status == 200, "\(answer.text)")
        return answer.json?["data"] as? [[String: Any]] ?? []
    }

    @Test func aPauseHoldsAcrossARestartAndAFlushSendsTheGroupAtOnce() async throws {
        let cluster = try await Cluster(
            name: "admin-queues", gateway: ["OFFPEAK_ADMIN_KEYS": "sk-admin", "OFFPEAK_FLUSH_MAX_AGE": "3600", "OFFPEAK_FLUSH_MAX_REQUESTS": "4"])
        let ids = try await cluster.sendMany(count: 3, models: ["qwen-plus"])
        #expect(try await post(cluster, "pause", ["model": "qwen-plus"]).map { $0["paused"] as? Bool } == [true])
        let more = try await cluster.sendMany(count: 2, models: ["qwen-plus"])
        #expect(try await queues(cluster).first?["queued"] as? Int == 5, "a paused group keeps accepting, and five is over the size limit")

        try await cluster.restartGateway()
        let queue = try #require(try await queues(cluster).first)
        #expect(queue["paused"] as? Bool == true && queue["queued"] as? Int == 5, "the pause survived the restart")
        #expect(try await post(cluster, "flush", [:]).isEmpty, "a paused group is not flushed, even on request")
        let depth = #"offpeak_queue_depth{upstream="default",endpoint="/v1/chat/completions",model="qwen-plus"} 5"#
        try await eventually("the queue depth gauge") { try await TestHTTP.get(cluster.gateway.url + "/metrics").text.contains(depth) }
        #expect(try await cluster.upstreamBatches().isEmpty)

        #expect(try await post(cluster, "resume", ["model": "qwen-plus", "endpoint": "/v1/chat/completions"]).count == 1)
        // Resumed, the group is due by size: the flusher or the operator's flush takes it, whichever comes first.
        _ = try await post(cluster, "flush", ["model": "qwen-plus"])
        let objects = try await cluster.waitTerminal(ids + more)
        #expect(objects.values.allSatisfy { $0["status"] as? String == "completed" })
        let names = try await cluster.upstreamBatches().map(\.name)
        #expect(names.allSatisfy { $0.hasPrefix("offpeak qwen-plus ") }, "\(names)")
    }

    @Test func aRunningBatchShowsTheProvidersProgressThenWhatWasSettled() async throws {
        let cluster = try await Cluster(
            name: "admin-batches", batchDelay: 4,
            gateway: ["OFFPEAK_ADMIN_KEYS": "sk-admin", "OFFPEAK_FLUSH_MAX_REQUESTS": "10", "OFFPEAK_FLUSH_MAX_AGE": "3600"])
        let ids = try await cluster.sendMany(count: 10, models: ["qwen-plus"])
        let base = cluster.gateway.url + "/admin/v1/batches"
        var batchID = ""
        var seen: Set<Int> = []
        try await eventually("the provider's progress part-way", within: 30) {
            let batch = (try await TestHTTP.get(base + "?model=qwen-plus", headers: Self.admin).json?["data"] as? [[String: Any]])?.first
            batchID = batch?["id"] as? String ?? ""
            let counts = batch?["request_counts"] as? [String: Int] ?? [:]
            if batch?["status"] as? String == "in_progress", let done = counts["completed"] { seen.insert(done) }
            return seen.contains { $0 > 0 && $0 < 10 }
        }
        _ = try await cluster.waitTerminal(ids)
        var ended: [String: Any] = [:]
        try await eventually("the batch to end") {
            ended = try await TestHTTP.get(base + "/" + batchID, headers: Self.admin).json ?? [:]
            return ended["ended_at"] is Int
        }
        #expect(ended["status"] as? String == "completed" && ended["output_file_id"] is String && ended["submitted_at"] is Int)
        #expect(ended["request_counts"] as? [String: Int] == ["total": 10, "completed": 10, "failed": 0])
        let found = try await TestHTTP.get(base + "?q=" + (ended["upstream_id"] as? String ?? "-"), headers: Self.admin).json
        #expect((found?["data"] as? [[String: Any]])?.map { $0["id"] as? String } == [batchID], "found by its upstream id")
    }

    /// Sends `count` calls as one batch and waits for the provider to be part-way through it.
    func runningBatch(_ cluster: Cluster, count: Int) async throws -> (batch: String, ids: [String]) {
        let ids = try await cluster.sendMany(count: count, models: ["qwen-plus"])
        var batchID = ""
        try await eventually("the batch part-way", within: 30) {
            let batch = (try await TestHTTP.get(cluster.gateway.url + "/admin/v1/batches?status=in_progress", headers: Self.admin)
                .json?["data"] as? [[String: Any]])?.first
            batchID = batch?["id"] as? String ?? ""
            return ((batch?["request_counts"] as? [String: Int])?["completed"] ?? 0) > 0
        }
        return (batchID, ids)
    }

    func cancel(_ cluster: Cluster, _ batch: String, _ body: [String: Any]) async throws -> TestHTTP.Answer {
        try await TestHTTP.post(cluster.gateway.url + "/admin/v1/batches/\(batch)/cancel", json: body, headers: Self.admin)
    }

    @Test(arguments: [true, false])
    func aCancelledBatchKeepsWhatRanAndRequeuesOrCancelsTheRest(requeue: Bool) async throws {
        let cluster = try await Cluster(
            name: "admin-cancel", batchDelay: 12,
            gateway: ["OFFPEAK_ADMIN_KEYS": "sk-admin", "OFFPEAK_FLUSH_MAX_REQUESTS": "20", "OFFPEAK_FLUSH_MAX_AGE": "3600"])
        let (batch, ids) = try await runningBatch(cluster, count: 20)
        let malformed = try await cancel(cluster, batch, ["requeue": "no"])
        #expect(malformed.status == 400 && (malformed.json?["error"] as? [String: Any])?["param"] as? String == "requeue")
        let answer = try await cancel(cluster, batch, requeue ? [:] : ["requeue": false])
        #expect(answer.status == 200, "\(answer.text)")
        #expect(["cancelling", "cancelled"].contains(answer.json?["status"] as? String ?? ""))
        let again = try await cancel(cluster, batch, [:])
        #expect(again.status == 409 && again.errorCode == "batch_not_cancellable")

        var ended: [String: Any] = [:]
        try await eventually("the batch to end") {
            ended = try await TestHTTP.get(cluster.gateway.url + "/admin/v1/batches/\(batch)", headers: Self.admin).json ?? [:]
            return ended["ended_at"] is Int
        }
        // What went back to the queue waits for age or size; the operator sends it now.
        let flushed = try await post(cluster, "flush", [:])
        #expect(flushed.count == (requeue ? 1 : 0))
        let objects = try await cluster.waitTerminal(ids, within: 60)
        let statuses = objects.values.map { $0["status"] as? String ?? "" }
        let completed = statuses.filter { $0 == "completed" }.count
        #expect(ended["status"] as? String == "cancelled")
        let ran = (ended["request_counts"] as? [String: Int])?["completed"] ?? -1
        #expect(ran > 0 && ran < 20, "the rows the provider ran before the cancel are kept: \(ran)")
        if requeue {
            #expect(completed == 20, "the rest went back to the queue and completed in another batch")
            let requeued = objects.values.filter { ($0["batch"] as? [String: Any])?["id"] as? String != batch }
            #expect(requeued.count == 20 - ran && requeued.allSatisfy { $0["attempts"] as? Int == 1 }, "their attempt given back")
        } else {
            #expect(completed == ran && statuses.filter { $0 == "cancelled" }.count == 20 - ran)
            let cancelled = try #require(objects.values.first { $0["status"] as? String == "cancelled" })
            #expect((cancelled["error"] as? [String: Any])?["code"] as? String == "batch_cancelled")
            let usage = try await TestHTTP.get(cluster.v1 + "/usage").json?["totals"] as? [String: Any]
            #expect(usage?["requests"] as? Int == ran, "what never ran is not on the ledger")
        }
        let ended409 = try await cancel(cluster, batch, [:])
        #expect(ended409.status == 409 && ended409.errorCode == "batch_not_cancellable")
        let unknown = try await cancel(cluster, "bat_unknown", [:])
        #expect(unknown.status == 404)
    }
}
