import Foundation
import Testing

/// `Deploy/grafana-dashboard.json` graphs only what the gateway exports.
@Suite struct DashboardTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every metric the sources declare: a metric's `label:`, or a constant named `…Label` that one
    /// is made with.
    static func exported() throws -> Set<String> {
        var metrics: Set<String> = []
        let sources = root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        let declaration = try NSRegularExpression(pattern: #"(?:label: |Label = )"(offpeak_[a-z_]+)""#)
        for file in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in declaration.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                metrics.insert(String(text[Range(match.range(at: 1), in: text)!]))
            }
        }
        return metrics
    }

    @Test func theDashboardGraphsOnlyExportedMetrics() throws {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("Deploy/grafana-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        let exported = try Self.exported()
        #expect(exported.contains("offpeak_queue_depth") && exported.contains("offpeak_cost_total"))
        let used = try NSRegularExpression(pattern: #"offpeak_[a-z_]+"#)
        var graphed: Set<String> = []
        for panel in panels {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                let expr = try #require(target["expr"] as? String)
                for match in used.matches(in: expr, range: NSRange(expr.startIndex..., in: expr)) {
                    // A histogram is graphed by its series: `_bucket`, `_sum`, `_count`.
                    var name = String(expr[Range(match.range, in: expr)!])
                    for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) && exported.contains(String(name.dropLast(suffix.count))) {
                        name = String(name.dropLast(suffix.count))
                    }
                    graphed.insert(name)
                }
            }
        }
        #expect(!graphed.isEmpty)
        #expect(graphed.subtracting(exported).isEmpty, "graphed but never exported: \(graphed.subtracting(exported))")
        for name in ["offpeak_queue_depth", "offpeak_queue_oldest_age_seconds", "offpeak_batches_open", "offpeak_cost_total"] {
            #expect(graphed.contains(name), "the console's numbers are graphed too: \(name)")
        }
        #expect(graphed.contains("offpeak_http_request_duration_seconds"), "and the calls' latency")
    }
}
