import Foundation
import OffpeakTestSupport
import Testing

/// Usage and cost through real processes: each request ended from a batch carries the provider's
/// token counts and its cost at the batch price of the config file's table, and the gateway's
/// Prometheus counters add them up once.
@Suite struct UsageCostTests {
    @Test func batchAnswersCarryTheirCostAndTheCountersAddItUp() async throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-prices-\(UUID().uuidString).yaml").path
        try """
            prices:
              currency: USD
              batch_multiplier: 0.5
              models:
                "qwen-*": {input: 0.40, output: 1.20}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let cluster = try await Cluster(name: "usage", gateway: ["OFFPEAK_CONFIG": config, "OFFPEAK_FLUSH_MAX_AGE": "0.5"])
        var ids: [String] = []
        for index in 0..<4 {
            let model = index < 3 ? "qwen-plus" : "unpriced-model"
            ids.append(try #require(try await cluster.deferred(chatBody(model: model, "price me \(index)")).json?["id"] as? String))
        }
        var objects: [[String: Any]] = []
        try await eventually("every request to complete", within: 60) {
            objects = try await ids.asyncMap { try await cluster.object($0) ?? [:] }
            return objects.allSatisfy { $0["status"] as? String == "completed" }
        }
        var prompt = 0
        var completion = 0
        var billed = Decimal(0)
        for object in objects.prefix(3) {
            let usage = try #require(object["usage"] as? [String: Any])
            let tokens = (try #require(usage["prompt_tokens"] as? Int), try #require(usage["completion_tokens"] as? Int))
            prompt += tokens.0
            completion += tokens.1
            let cost = try #require(object["cost"] as? [String: Any])
            #expect(cost["priced"] as? Bool == true && cost["lane"] as? String == "batch" && cost["currency"] as? String == "USD")
            // (prompt × 0.40 + completion × 1.20) per million, half of it at the batch price.
            let list = (Decimal(tokens.0) * Decimal(string: "0.40")! + Decimal(tokens.1) * Decimal(string: "1.20")!) / 1_000_000
            let expected = list / 2
            #expect(Decimal(string: "\(try #require(cost["billed"] as? NSNumber))") == expected, "\(cost)")
            #expect(Decimal(string: "\(try #require(cost["at_list_price"] as? NSNumber))") == list)
            billed += expected
        }
        let unpriced = try #require(objects[3]["cost"] as? [String: Any])
        #expect(unpriced["priced"] as? Bool == false && unpriced["billed"] is NSNull, "never reported as free")

        let metrics = try await TestHTTP.get(cluster.gateway.url + "/metrics").text
        let labels = #"upstream="default",model="qwen-plus",lane="batch""#
        #expect(metrics.contains(#"offpeak_tokens_total{\#(labels),kind="prompt"} \#(prompt)"#), "\(metrics)")
        #expect(metrics.contains(#"offpeak_tokens_total{\#(labels),kind="completion"} \#(completion)"#))
        let billedLine = metrics.split(separator: "\n").first { $0.hasPrefix(#"offpeak_cost_total{\#(labels),basis="billed"}"#) }
        let counted = try #require(billedLine.flatMap { Double($0.split(separator: " ").last ?? "") })
        #expect(abs(counted - NSDecimalNumber(decimal: billed).doubleValue) < 1e-12, "the counter adds each request once")

        // The gateway's own report says the same, to the pico-unit.
        let report = try #require(try await TestHTTP.get(cluster.v1 + "/usage?group_by=model,lane").json)
        let rows = try #require(report["data"] as? [[String: Any]])
        let plus = try #require(rows.first { $0["model"] as? String == "qwen-plus" })
        #expect(plus["lane"] as? String == "batch" && plus["requests"] as? Int == 3 && plus["prompt_tokens"] as? Int == prompt)
        #expect(Decimal(string: "\(try #require(plus["billed"] as? NSNumber))") == billed)
        #expect(Decimal(string: "\(try #require(plus["saved"] as? NSNumber))") == billed, "half of the list price saved")
        let mystery = try #require(rows.first { $0["model"] as? String == "unpriced-model" })
        #expect(mystery["unpriced_requests"] as? Int == 1 && mystery["requests"] as? Int == 1)
    }

    /// Calls passed straight through are on the ledger too, in the real-time lane: a plain answer
    /// and a stream from their `usage`, a stream without a final usage chunk as a request with
    /// unknown tokens (unpriced, never free).
    @Test func passthroughCallsAreCountedFromTheirAnswers() async throws {
        let cluster = try await Cluster(name: "usage-pass")
        let plain = try await TestHTTP.post(cluster.v1 + "/chat/completions", json: chatBody(model: "qwen-plus", "plain"))
        let plainUsage = try #require(plain.json?["usage"] as? [String: Any])
        let counted = try await TestHTTP.post(
            cluster.v1 + "/chat/completions",
            json: chatBody(model: "qwen-plus", "streamed", extra: ["stream": true, "stream_options": ["include_usage": true]]))
        #expect(counted.text.contains("data: [DONE]"))
        let usageEvent = try #require(
            counted.text.split(separator: "\n").compactMap { line -> [String: Any]? in
                guard line.hasPrefix("data: {") else { return nil }
                return try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any]
            }.compactMap { $0["usage"] as? [String: Any] }.last)
        _ = try await TestHTTP.post(
            cluster.v1 + "/chat/completions", json: chatBody(model: "qwen-plus", "silent", extra: ["stream": true]))
        _ = try await TestHTTP.get(cluster.v1 + "/models")

        var realtime: [String: Any] = [:]
        try await eventually("the three calls on the ledger", within: 60) {
            let report = try await TestHTTP.get(cluster.v1 + "/usage?group_by=lane,model").json
            realtime = (report?["data"] as? [[String: Any]])?.first { $0["lane"] as? String == "realtime" } ?? [:]
            return realtime["requests"] as? Int == 3
        }
        #expect(realtime["model"] as? String == "qwen-plus" && realtime["completed"] as? Int == 3)
        let prompt = try #require(plainUsage["prompt_tokens"] as? Int) + (try #require(usageEvent["prompt_tokens"] as? Int))
        #expect(realtime["prompt_tokens"] as? Int == prompt)
        #expect(realtime["unpriced_requests"] as? Int == 1, "the stream that did not say what it used")
        // Qwen-plus at the shipped list price, and no batch discount in real time.
        #expect((realtime["billed"] as? Double ?? 0) > 0 && realtime["saved"] as? Double == 0)
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
