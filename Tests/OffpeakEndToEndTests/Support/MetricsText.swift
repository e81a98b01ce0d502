/// The value of the first sample of `name` in Prometheus text whose labels contain `labels` (none
/// given: the sample without labels), or nil when there is none.
func metricValue(_ text: String, _ name: String, labels: String? = nil) -> Double? {
    let prefix = labels == nil ? name + " " : name + "{"
    return text.split(separator: "\n").first { $0.hasPrefix(prefix) && labels.map($0.contains) ?? true }
        .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
}
