import Foundation
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// Deferred calls go out as provider batches and come back by id, over real sockets.
@Suite(.serialized) struct CorePathTests {
    @Test func threeModelsBecomeSingleModelBatchesAndEveryResultMatchesTheProvider() async throws {
        let cluster = try await Cluster(name: "core")
        let models = ["qwen-plus", "qwen-flash", "qwen-max"]
        var sent: [String: Data] = [:]
        try await withThrowingTaskGroup(of: (String, Data).self) { group in
            for model in models {
                for index in 0..<40 {
                    group.addTask {
                        let body = try JSONSerialization.data(
                            withJSONObject: chatBody(model: model, "Question \(index) for \(model)", extra: ["temperature": 0.2]))
                        let answer = try await TestHTTP.send(
                            .POST, cluster.v1 + "/chat/completions", body: Array(body), headers: [("Prefer", "respond-async")])
                        #expect(answer.status == 202)
                        let object = try #require(answer.json)
                        let id = try #require(object["id"] as? String)
                        #expect(answer.headers.first(name: "Location") == "/v1/deferred/\(id)")
                        #expect(answer.headers.first(name: "Preference-Applied") == "respond-async")
                        #expect(object["status"] as? String == "queued")
                        #expect(object["model"] as? String == model)
                        return (id, body)
                    }
                }
            }
            for try await (id, body) in group { sent[id] = body }
        }
        #expect(sent.count == 120)
        _ = try await cluster.waitTerminal(Array(sent.keys))

        let batches = try await cluster.upstreamBatches()
        var seen: [String: Int] = [:]
        for batch in batches {
            #expect(batch.models.count == 1, "a file mixes models: \(batch.models)")
            #expect(batch.customIDs.count <= 15, "a file holds more lines than the flush limit")
            for id in batch.customIDs { seen[id, default: 0] += 1 }
        }
        #expect(Set(seen.keys) == Set(sent.keys), "every custom_id is an id the gateway answered with")
        #expect(seen.values.allSatisfy { $0 == 1 }, "no custom_id is sent twice")

        for (id, body) in sent {
            let result = try await TestHTTP.get(cluster.v1 + "/deferred/\(id)/result")
            #expect(result.status == 200)
            let direct = try await TestHTTP.send(
                .POST, cluster.upstream + "/chat/completions", body: Array(body), headers: [("Authorization", "Bearer sk-upstream")])
            #expect(result.json as NSDictionary? == direct.json as NSDictionary?, "batch result differs from the provider's answer")
        }
        // Each batch's submission and collection timed once on /metrics (the collection is timed
        // when its batch is ended, just after its last request settles).
        func count(_ name: String) async throws -> Int? {
            metricValue(try await TestHTTP.get(cluster.gateway.url + "/metrics").text, name + "_count").map { Int($0) }
        }
        try await eventually("every batch's collection to be timed") {
            try await count("offpeak_batch_collect_duration_seconds") == batches.count
        }
        #expect(try await count("offpeak_batch_submit_duration_seconds") == batches.count)
    }

    @Test func theListPagesNewestFirstAndFilters() async throws {
        let cluster = try await Cluster(name: "list", gateway: ["OFFPEAK_FLUSH_MAX_AGE": "3600", "OFFPEAK_FLUSH_MAX_REQUESTS": "1000"])
        var ids: [String] = []
        for index in 0..<5 {
            let answer = try await cluster.deferred(chatBody(model: index < 3 ? "a-model" : "b-model", "item \(index)"))
            ids.append(try #require(answer.json?["id"] as? String))
        }
        let first = try #require(try await TestHTTP.get(cluster.v1 + "/deferred?limit=2").json)
        let firstData = try #require(first["data"] as? [[String: Any]])
        #expect(first["object"] as? String == "list")
        #expect(firstData.compactMap { $0["id"] as? String } == [ids[4], ids[3]])
        #expect(first["has_more"] as? Bool == true)
        #expect(first["first_id"] as? String == ids[4])
        #expect(first["last_id"] as? String == ids[3])
        let second = try #require(try await TestHTTP.get(cluster.v1 + "/deferred?limit=2&after=\(ids[3])").json)
        #expect((second["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[2], ids[1]])
        let byModel = try #require(try await TestHTTP.get(cluster.v1 + "/deferred?model=b-model").json)
        #expect((byModel["data"] as? [[String: Any]])?.count == 2)
        let queued = try #require(try await TestHTTP.get(cluster.v1 + "/deferred?status=queued&limit=100").json)
        #expect((queued["data"] as? [[String: Any]])?.count == 5)
        #expect(queued["has_more"] as? Bool == false)
    }

    @Test func operationsEndpointsAnswer() async throws {
        let cluster = try await Cluster(name: "ops", gateway: ["OFFPEAK_FLUSH_MAX_AGE": "3600", "OFFPEAK_API_KEYS": "key-ops"])
        for index in 0..<3 {
            #expect(try await cluster.deferred(chatBody(model: "m", "count me \(index)"), key: "key-ops").status == 202)
        }
        #expect(try await TestHTTP.get(cluster.gateway.url + "/healthz").status == 200)
        #expect(try await TestHTTP.get(cluster.gateway.url + "/readyz").json?["status"] as? String == "ready")
        let metrics = try await TestHTTP.get(cluster.gateway.url + "/metrics")
        #expect(metrics.status == 200, "Prometheus text needs no client key")
        #expect(metrics.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
        #expect(metrics.text.contains("offpeak_deferred_accepted_total 3"), "\(metrics.text)")
        // Every call timed by route template, method and status; the histogram's count is the calls'.
        let accepts = #"route="/v1/chat/completions",method="POST",status="202""#
        func value(_ name: String, _ labels: String) -> Double? { metricValue(metrics.text, name, labels: labels) }
        let duration = "offpeak_http_request_duration_seconds"
        #expect(value(duration + "_count", accepts) == 3, "\(metrics.text)")
        #expect(value(duration + "_bucket", accepts + #",le="60.0""#) == 3, "every accept within a minute")
        #expect((value(duration + "_sum", accepts) ?? 0) > 0)
        #expect(value(duration + "_count", #"route="/healthz",method="GET",status="200""#) == 1)
        let refused = try await TestHTTP.get(cluster.v1 + "/deferred/dfr_none", headers: [("Authorization", "Bearer key-ops")])
        #expect(refused.status == 404)
        let unmatched = try await TestHTTP.get(cluster.gateway.url + "/no/such/path")
        #expect(unmatched.status == 404)
        let after = try await TestHTTP.get(cluster.gateway.url + "/metrics").text
        #expect(after.contains(#"\#(duration)_count{route="/v1/deferred/{id}",method="GET",status="404"} 1"#), "an error is timed too: \(after)")
        #expect(after.contains(#"\#(duration)_count{route="NotFound",method="GET",status="404"} 1"#), "a path no route matched is one series")
    }

    @Test func cancellingAQueuedRequestKeepsItOutOfEveryBatch() async throws {
        // The cancel must come before the group's age flushes it: 10 s, far more than two accepts and
        // a cancel take on a loaded machine.
        let cluster = try await Cluster(name: "cancel", gateway: ["OFFPEAK_FLUSH_MAX_AGE": "10"])
        let keep = try #require(try await cluster.deferred(chatBody(model: "m", "keep me")).json?["id"] as? String)
        let drop = try #require(try await cluster.deferred(chatBody(model: "m", "drop me")).json?["id"] as? String)
        let cancelled = try await TestHTTP.send(.DELETE, cluster.v1 + "/deferred/\(drop)")
        #expect(cancelled.status == 200)
        #expect(cancelled.json?["status"] as? String == "cancelled")
        let objects = try await cluster.waitTerminal([keep, drop])
        #expect(objects[keep]?["status"] as? String == "completed")
        #expect(objects[drop]?["status"] as? String == "cancelled")
        let sentIDs = try await cluster.upstreamBatches().flatMap(\.customIDs)
        #expect(!sentIDs.contains(drop))
        let result = try await TestHTTP.get(cluster.v1 + "/deferred/\(drop)/result")
        #expect(result.status == 409)
        #expect(result.errorCode == "request_cancelled")
    }

    @Test func preferWaitAnswersWithTheResultWhenItIsReadyInTime() async throws {
        let cluster = try await Cluster(name: "wait", batchDelay: 0.3, gateway: ["OFFPEAK_FLUSH_MAX_AGE": "0.1"])
        let body = chatBody(model: "qwen-plus", "answer while I wait")
        let answer = try await TestHTTP.post(
            cluster.v1 + "/chat/completions", json: body, headers: [("Prefer", "respond-async, wait=30")])
        #expect(answer.status == 200)
        #expect(answer.json?["object"] as? String == "chat.completion")
        #expect(answer.headers.first(name: "Offpeak-Request-Id")?.hasPrefix("dfr_") == true)

        let short = try await TestHTTP.post(
            cluster.v1 + "/chat/completions", json: body, headers: [("Prefer", "wait=0.2; x=y, RESPOND-ASYNC")])
        #expect(short.status == 202)
        let id = try #require(short.json?["id"] as? String)
        let polled = try await TestHTTP.get(cluster.v1 + "/deferred/\(id)", headers: [("Prefer", "wait=30")])
        #expect(polled.json?["status"] as? String == "completed")
        let response = try #require(polled.json?["response"] as? [String: Any])
        #expect(response["status_code"] as? Int == 200)
        #expect((response["body"] as? [String: Any])?["object"] as? String == "chat.completion")
    }

    @Test func anUnfinishedResultAnswers202WithRetryAfter() async throws {
        let cluster = try await Cluster(name: "pending", gateway: ["OFFPEAK_FLUSH_MAX_AGE": "3600", "OFFPEAK_FLUSH_MAX_REQUESTS": "1000"])
        let id = try #require(try await cluster.deferred(chatBody(model: "m", "later")).json?["id"] as? String)
        let result = try await TestHTTP.get(cluster.v1 + "/deferred/\(id)/result")
        #expect(result.status == 202)
        #expect(result.headers.first(name: "Retry-After") != nil)
        #expect(result.json?["status"] as? String == "queued")
    }
}
