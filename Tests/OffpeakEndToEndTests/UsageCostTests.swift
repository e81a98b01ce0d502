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
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
