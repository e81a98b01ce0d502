import ArgumentParser
import AsyncHTTPClient
import Configuration
import Foundation
import Hummingbird
import Logging
import OffpeakCore
import OffpeakGateway
import Prometheus
import UnixSignals

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway: HTTP front, flusher and poller.",
        discussion: "Every option is also an environment variable: --flush-max-age is OFFPEAK_FLUSH_MAX_AGE."
    )

    @Option(help: "Listen address (OFFPEAK_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Listen port, 0 for any free port (OFFPEAK_PORT, default 8080).") var port: Int?
    @Option(help: "SQLite file path or postgres://user:password@host:5432/db URL (OFFPEAK_DATABASE, default offpeak.sqlite).") var database: String?
    @Option(help: "The provider's OpenAI-compatible base URL, ending in /v1 (OFFPEAK_UPSTREAM_URL).") var upstreamURL: String?
    @Option(help: "Flush a group at this many queued requests (OFFPEAK_FLUSH_MAX_REQUESTS).") var flushMaxRequests: Int?
    @Option(help: "Flush before a group's file would pass this many bytes (OFFPEAK_FLUSH_MAX_BYTES).") var flushMaxBytes: Int?
    @Option(help: "Flush a group when its oldest request is this many seconds old (OFFPEAK_FLUSH_MAX_AGE).") var flushMaxAge: Double?
    @Option(help: "Seconds between polls of a live batch (OFFPEAK_POLL_INTERVAL).") var pollInterval: Double?
    @Option(help: "completion_window sent with each batch (OFFPEAK_COMPLETION_WINDOW).") var completionWindow: String?
    @Option(help: "Batches one request may be placed in before it fails (OFFPEAK_MAX_ATTEMPTS).") var maxAttempts: Int?
    @Option(help: "trace, debug, info, notice, warning, error (OFFPEAK_LOG_LEVEL).") var logLevel: String?
    @Option(help: "Deferral policy file, YAML or JSON (OFFPEAK_CONFIG); `offpeak policies` checks one.") var config: String?

    func run() async throws {
        _ = LogSetup.bootstrap(level: logLevel)
        let logger = Logger(label: "offpeak")
        let configuration: GatewayConfiguration
        do {
            configuration = try GatewayConfiguration(reader: configReader())
        } catch {
            FileHandle.standardError.write(Data("offpeak: \(error)\n".utf8))
            throw ExitCode(2)
        }
        guard configuration.upstreamList != nil || !configuration.upstreamAPIKey.isEmpty else {
            FileHandle.standardError.write(
                Data("offpeak: OFFPEAK_UPSTREAM_API_KEY is not set; export the provider's API key and start again.\n".utf8))
            throw ExitCode(2)
        }
        for upstream in configuration.routes.upstreams {
            logger.info("upstream", metadata: ["upstream": "\(upstream)"])
        }
        if configuration.policies.isEmpty {
            logger.info("no deferral policies: only calls with Prefer: respond-async are deferred")
        } else {
            for line in PolicyFile.describe(configuration.policies) {
                logger.info("deferral policy", metadata: ["rule": "\(line)"])
            }
        }
        let store = try StoreOpening.open(configuration.database, logger: logger)
        let registry = PrometheusCollectorRegistry()
        MetricsSetup.bootstrap(registry: registry)
        let client = HTTPClient.makeForOffpeak()
        do {
            let app = Gateway.build(
                configuration: configuration, store: store, httpClient: client, logger: logger,
                metricsText: { registry.emitToBuffer() },
                onRunning: { port in LogSetup.announce("offpeak: listening on http://\(configuration.host):\(port)") })
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// Flags first, then `OFFPEAK_*` environment variables, then the defaults.
    func configReader() -> ConfigReader {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        func set(_ key: AbsoluteConfigKey, _ value: ConfigContent?) {
            if let value { values[key] = ConfigValue(value, isSecret: false) }
        }
        set("host", host.map { .string($0) })
        set("port", port.map { .int($0) })
        set("database", database.map { .string($0) })
        set("upstream.url", upstreamURL.map { .string($0) })
        set("flush.max.requests", flushMaxRequests.map { .int($0) })
        set("flush.max.bytes", flushMaxBytes.map { .int($0) })
        set("flush.max.age", flushMaxAge.map { .string(String($0)) })
        set("poll.interval", pollInterval.map { .string(String($0)) })
        set("completion.window", completionWindow.map { .string($0) })
        set("max.attempts", maxAttempts.map { .int($0) })
        set("config", config.map { .string($0) })
        return ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: values),
            EnvironmentVariablesProvider().prefixKeys(with: "offpeak"),
        ])
    }
}

extension HTTPClient {
    /// One client for the provider: no redirects followed, bodies passed on as they come.
    static func makeForOffpeak() -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10)))
        configuration.decompression = .disabled
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        // Offpeak bootstraps no tracer: the client would open and drop a span per call (a few
        // percent of a relayed call's CPU).
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
