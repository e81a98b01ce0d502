import Foundation
import OffpeakTestSupport
import Testing

/// Every outcome row of a batch's outcomes, driven by the simulator's fault markers.
@Suite(.serialized) struct OutcomeTests {
    func send(_ cluster: Cluster, model: String, _ texts: [String]) async throws -> [String] {
        var ids: [String] = []
        for text in texts {
            let answer = try await cluster.deferred(chatBody(model: model, text))
            #expect(answer.status == 202)
            ids.append(try #require(answer.json?["id"] as? String))
        }
        return ids
    }

    @Test func clientErrorsFailWithTheProviderAnswerAndRetryableRowsAreRebatched() async throws {
        let cluster = try await Cluster(name: "outcomes")
        let fine = try await send(cluster, model: "qwen-plus", (0..<4).map { "fine \($0)" })
        let rejected = try await send(cluster, model: "qwen-plus", (0..<3).map { "rejected \($0) [sim:status=400]" })
        let flaky = try await send(
            cluster, model: "qwen-plus",
            ["server error once [sim:status=500,times=1]", "rate limited once [sim:status=429,times=1]",
             "dropped once [sim:omit,times=1]"])
        let expiring = try await send(
            cluster, model: "qwen-flash", ["expire this batch once [sim:batch=expire,times=1]"] + (0..<5).map { "along for the ride \($0)" })

        let objects = try await cluster.waitTerminal(fine + rejected + flaky + expiring)
        for id in fine + flaky + expiring {
            #expect(objects[id]?["status"] as? String == "completed", "\(id): \(objects[id] ?? [:])")
        }
        for id in flaky {
            #expect(objects[id]?["attempts"] as? Int == 2, "a retried row was placed in a second batch")
            // The operator sees why: its trace has the placement it left, then the one it completed in.
            let trace = try #require(try await TestHTTP.get(cluster.gateway.url + "/admin/v1/requests/\(id)").json?["trace"] as? [[String: Any]])
            #expect(trace.map { $0["outcome"] as? String } == ["requeued", "completed"])
            #expect(trace[0]["batch_id"] as? String != trace[1]["batch_id"] as? String && trace[0]["line"] is Int)
            let reason = (trace[0]["reason"] as? [String: Any])?["code"] as? String
            #expect(["upstream_status_500", "upstream_status_429", "not_executed"].contains(reason ?? ""), "\(trace)")
        }
        for id in rejected {
            #expect(objects[id]?["status"] as? String == "failed")
            #expect((objects[id]?["error"] as? [String: Any])?["code"] as? String == "upstream_status_400")
            let result = try await TestHTTP.get(cluster.v1 + "/deferred/\(id)/result")
            #expect(result.status == 400, "the provider's status is kept")
            #expect(result.errorCode == "simulated_400", "the provider's body is kept")
        }
        let statuses = try await cluster.upstreamBatches().map(\.status)
        #expect(statuses.contains("expired"))

        // Billed once or not at all: each request is on the ledger once, whatever its attempts; the
        // rejected rows cost nothing, and the sums are those of the requests' own costs.
        let report = try #require(try await TestHTTP.get(cluster.v1 + "/usage?group_by=lane").json)
        let totals = try #require(report["totals"] as? [String: Any])
        let completed = fine + flaky + expiring
        #expect(totals["requests"] as? Int == objects.count && totals["completed"] as? Int == completed.count)
        #expect(totals["failed"] as? Int == rejected.count)
        var billed = Decimal(0)
        var prompt = 0
        for id in completed {
            billed += Decimal(string: "\((objects[id]?["cost"] as? [String: Any])?["billed"] as? NSNumber ?? 0)") ?? 0
            prompt += (objects[id]?["usage"] as? [String: Any])?["prompt_tokens"] as? Int ?? 0
        }
        for id in rejected {
            #expect((objects[id]?["cost"] as? [String: Any])?["billed"] as? NSNumber == 0, "a failed row costs 0")
        }
        #expect(Decimal(string: "\(totals["billed"] as? NSNumber ?? 0)") == billed && totals["prompt_tokens"] as? Int == prompt)
    }

    @Test func withOneAttemptRetryableRowsFailWithAClearCode() async throws {
        let cluster = try await Cluster(name: "one-attempt", gateway: ["OFFPEAK_MAX_ATTEMPTS": "1"])
        let serverError = try await send(cluster, model: "qwen-plus", ["always failing [sim:status=500]", "always limited [sim:status=429]"])
        let fine = try await send(cluster, model: "qwen-plus", ["fine"])
        let expired = try await send(cluster, model: "qwen-max", ["expire [sim:batch=expire]", "a", "b", "c"])

        let objects = try await cluster.waitTerminal(serverError + fine + expired)
        #expect(objects[fine[0]]?["status"] as? String == "completed")
        for id in serverError {
            #expect(objects[id]?["status"] as? String == "failed")
            #expect((objects[id]?["error"] as? [String: Any])?["code"] as? String == "max_attempts_exceeded")
            let result = try await TestHTTP.get(cluster.v1 + "/deferred/\(id)/result")
            #expect([429, 500].contains(result.status), "the provider's last answer is what /result gives")
        }
        // The batch expires with its first half executed; the rest were never run and now fail.
        let failedExpired = expired.filter { objects[$0]?["status"] as? String == "failed" }
        #expect(!failedExpired.isEmpty)
        for id in failedExpired {
            let error = try #require(objects[id]?["error"] as? [String: Any])
            #expect(error["code"] as? String == "max_attempts_exceeded")
            #expect((error["message"] as? String)?.contains("batch_expired") == true)
            let result = try await TestHTTP.get(cluster.v1 + "/deferred/\(id)/result")
            #expect(result.status == 502)
            #expect(result.errorCode == "max_attempts_exceeded")
        }
    }

    @Test func aBatchFailingValidationFailsOnlyTheNamedLines() async throws {
        let cluster = try await Cluster(name: "validation", gateway: ["OFFPEAK_MAX_ATTEMPTS": "1"])
        let ids = try await send(
            cluster, model: "qwen-plus", ["one", "two", "the bad line [sim:batch=invalid]", "four", "five"])
        let objects = try await cluster.waitTerminal(ids)
        let bad = ids[2]
        #expect(objects[bad]?["status"] as? String == "failed")
        #expect((objects[bad]?["error"] as? [String: Any])?["code"] as? String == "invalid_request")
        for id in ids where id != bad {
            #expect(objects[id]?["status"] as? String == "completed", "an innocent line completes, even with one attempt")
        }
        let batches = try await cluster.upstreamBatches()
        #expect(batches.contains { $0.status == "failed" })
    }

    @Test func providerFaultsOnUploadAndCreateAreRetried() async throws {
        // The three requests go in one file: the group's age flushes it 5 s after the first, far more
        // than three accepts take on a loaded machine.
        let cluster = try await Cluster(name: "upload-faults", gateway: ["OFFPEAK_FLUSH_MAX_AGE": "5"])
        let headers = [("Authorization", "Bearer sk-upstream")]
        _ = try await TestHTTP.post(cluster.upstream.replacingOccurrences(of: "/v1", with: "/sim/faults"),
                                    json: ["endpoint": "upload", "status": 503, "count": 2], headers: headers)
        _ = try await TestHTTP.post(cluster.upstream.replacingOccurrences(of: "/v1", with: "/sim/faults"),
                                    json: ["endpoint": "create", "status": 429, "count": 1, "retry_after": 1], headers: headers)
        _ = try await TestHTTP.post(cluster.upstream.replacingOccurrences(of: "/v1", with: "/sim/faults"),
                                    json: ["endpoint": "retrieve", "status": 500, "count": 2], headers: headers)
        let ids = try await send(cluster, model: "qwen-plus", ["a", "b", "c"])
        let objects = try await cluster.waitTerminal(ids)
        for id in ids {
            #expect(objects[id]?["status"] as? String == "completed")
            #expect(objects[id]?["attempts"] as? Int == 1, "a retried upload is not a new placement")
        }
        #expect(try await cluster.upstreamBatches().count == 1, "one batch, created once")
    }
}
