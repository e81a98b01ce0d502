import Metrics

/// The Prometheus counters of section 9: tokens and money, by upstream, model and lane. Each is
/// incremented by whoever ended the request, after the store applied the end, so a request is
/// counted once (a file applied twice finishes nothing the second time).
public enum UsageMetrics {
    public static func record(_ finish: RequestFinish, model: String, upstream: String = UsageRecord.defaultUpstream) {
        let labels = [("upstream", upstream), ("model", model), ("lane", finish.lane.rawValue)]
        if let usage = finish.usage {
            for (kind, count) in [
                ("prompt", usage.promptTokens), ("completion", usage.completionTokens), ("cached", usage.cachedTokens),
                ("reasoning", usage.reasoningTokens),
            ] where count > 0 {
                Counter(label: "offpeak_tokens_total", dimensions: labels + [("kind", kind)]).increment(by: count)
            }
        }
        guard let cost = finish.cost, cost.priced else { return }
        for (basis, amount) in [("billed", cost.billed), ("list", cost.atListPrice)] {
            guard let amount, amount.picos > 0 else { continue }
            FloatingPointCounter(label: "offpeak_cost_total", dimensions: labels + [("basis", basis)])
                .increment(by: Double(amount.picos) / 1e12)
        }
    }
}
