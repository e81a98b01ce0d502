import Metrics
import OffpeakGateway
import Prometheus

/// The gateway's metrics as Prometheus text, the calls' durations in buckets fine enough for a
/// relayed call (about a millisecond) and wide enough for a long poll.
enum MetricsSetup {
    static let requestDurationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    /// Bootstraps swift-metrics with a Prometheus factory over `registry`.
    static func bootstrap(registry: PrometheusCollectorRegistry) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [Gateway.requestDurationLabel: requestDurationBuckets]
        MetricsSystem.bootstrap(factory)
    }
}
