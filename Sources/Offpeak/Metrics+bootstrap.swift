import Metrics
import OffpeakCore
import OffpeakGateway
import Prometheus

/// The gateway's metrics as Prometheus text: the calls' durations in buckets fine enough for a
/// relayed call (about a millisecond) and wide enough for a long poll; a batch's submission and
/// collection in buckets from a tenth of a second to an hour.
enum MetricsSetup {
    static let requestDurationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    static let batchDurationBuckets: [Duration] = [
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(600), .seconds(1800), .seconds(3600),
    ]

    /// Bootstraps swift-metrics with a Prometheus factory over `registry`.
    static func bootstrap(registry: PrometheusCollectorRegistry) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            Gateway.requestDurationLabel: requestDurationBuckets,
            BatchDurations.submitLabel: batchDurationBuckets, BatchDurations.collectLabel: batchDurationBuckets,
        ]
        MetricsSystem.bootstrap(factory)
    }
}
