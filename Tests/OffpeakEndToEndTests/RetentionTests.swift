import Foundation
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// Retention and deletion: bodies of ended requests go after `OFFPEAK_RETENTION` or at their
/// owner's `DELETE`, the object stays with `purged_at` and its result answers 410; usage stays;
/// a settled batch's files are deleted upstream unless `OFFPEAK_KEEP_UPSTREAM_FILES=true`.
@Suite struct RetentionTests {
    func deletedFiles(_ cluster: Cluster) async throws -> [String] {
        try await TestHTTP.get(cluster.simulator.url + "/sim/stats").json?["deleted_files"] as? [String] ?? []
    }

    @Test func bodiesGoAfterTheRetentionAndFilesAfterSettlement() async throws {
        let cluster = try await Cluster(
            name: "retention", gateway: ["OFFPEAK_RETENTION": "1", "OFFPEAK_KEEP_UPSTREAM_FILES": "false"])
        let ids = try await cluster.sendMany(count: 3, models: ["qwen-plus"])
        let objects = try await cluster.waitTerminal(ids)
        #expect(objects.values.allSatisfy { $0["status"] as? String == "completed" })
        try await eventually("the bodies to be purged", within: 60) {
            try await cluster.object(ids[0])?["purged_at"] is Int
        }
        let purged = try #require(try await cluster.object(ids[0]))
        #expect((purged["response"] as? [String: Any])?["body"] is NSNull, "the body is gone, the object stays")
        #expect(purged["usage"] is [String: Any], "what it used stays")
        let result = try await TestHTTP.get(cluster.v1 + "/deferred/\(ids[0])/result")
        #expect(result.status == 410 && result.errorCode == "result_purged")
        let usage = try await TestHTTP.get(cluster.v1 + "/usage").json?["totals"] as? [String: Any]
        #expect(usage?["requests"] as? Int == 3, "usage records are kept")

        // However the three were batched, every batch's input and output file is deleted, and nothing else.
        let files = Set(try await cluster.upstreamBatchIDs().flatMap { [$0.input, $0.output].compactMap { $0 } })
        #expect(!files.isEmpty)
        try await eventually("the batches' files deleted upstream") { Set(try await self.deletedFiles(cluster)) == files }
    }

    @Test func anOwnerDeletesAnEndedRequestsBodiesAndFilesAreKeptWhenAsked() async throws {
        // The batch stays upstream long enough that the request is still submitted when the DELETE
        // arrives, however slowly a loaded machine answers the reads that saw it submitted.
        let cluster = try await Cluster(name: "deletion", batchDelay: 15, gateway: ["OFFPEAK_API_KEYS": "key-a"])
        let ids = [try #require(try await cluster.deferred(chatBody(model: "qwen-plus", "keep me"), key: "key-a").json?["id"] as? String)]
        var status = ""
        do {
            try await eventually("the request in a batch", within: 90) {
                status = try await cluster.object(ids[0], key: "key-a")?["status"] as? String ?? ""
                return status == "submitted"
            }
        } catch {
            Issue.record("\(error); last seen '\(status)'; the gateway's log ends: \(cluster.gateway.log.suffix(3000))")
            return
        }
        let submitted = try await TestHTTP.send(.DELETE, cluster.v1 + "/deferred/\(ids[0])", headers: [("Authorization", "Bearer key-a")])
        #expect(submitted.status == 409 && submitted.errorCode == "already_submitted", "\(submitted.status) \(submitted.text)")
        _ = try await cluster.waitTerminal(ids, key: "key-a")
        #expect(try await TestHTTP.get(cluster.v1 + "/deferred/\(ids[0])/result", headers: [("Authorization", "Bearer key-a")]).status == 200)
        let deleted = try await TestHTTP.send(.DELETE, cluster.v1 + "/deferred/\(ids[0])", headers: [("Authorization", "Bearer key-a")])
        #expect(deleted.status == 200 && deleted.json?["purged_at"] is Int && deleted.json?["status"] as? String == "completed")
        let result = try await TestHTTP.get(cluster.v1 + "/deferred/\(ids[0])/result", headers: [("Authorization", "Bearer key-a")])
        #expect(result.status == 410 && result.errorCode == "result_purged")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await deletedFiles(cluster).isEmpty, "OFFPEAK_KEEP_UPSTREAM_FILES=true keeps them")
    }
}
