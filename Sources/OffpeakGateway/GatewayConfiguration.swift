import Configuration
import Foundation
import OffpeakCore

/// Every setting of `offpeak serve`, read once at the entry point.
public struct GatewayConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var database = "offpeak.sqlite"
    public var upstreamURL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    public var upstreamAPIKey = ""
    public var clientKeys: [String] = []
    /// Operator keys (`OFFPEAK_ADMIN_KEYS`) for `/admin/v1` and the console.
    public var adminKeys: [String] = []
    public var flush = FlushPolicy()
    public var pollInterval = 30.0
    public var completionWindow = "24h"
    public var maxAttempts = 3
    public var maxRequestBytes = 6_291_456
    public var webhookSecret: String?
    public var webhookRetryDelays: [Double] = [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200]
    public var allowPrivateCallbacks = false
    /// The config file's `upstreams` list; nil when it has none (one upstream, `default`, from
    /// `OFFPEAK_UPSTREAM_URL` and `OFFPEAK_UPSTREAM_API_KEY`, taking every model).
    public var upstreamList: [Upstream]?
    /// Seconds after its end a request's bodies are kept (`OFFPEAK_RETENTION`; 0 keeps them).
    public var retention = 2_592_000.0
    /// Leave settled batches' files at the provider (`OFFPEAK_KEEP_UPSTREAM_FILES`).
    public var keepUpstreamFiles = false
    /// The bounds on queued requests (`OFFPEAK_MAX_QUEUED`, `OFFPEAK_MAX_QUEUED_PER_KEY`).
    public var queueLimits = QueueBounds.Limits()
    /// Marks the console's session cookie `Secure` (set it when the console is reached over HTTPS).
    public var consoleSecureCookie = false
    /// Seconds one callback attempt may take.
    public var webhookTimeout = 15.0
    /// The longest `Prefer: wait=N` honoured, in seconds.
    public var maxWait = 60.0
    /// Seconds a client connection may go without sending a whole request part (`OFFPEAK_IDLE_TIMEOUT`;
    /// 0 never closes one): unused, idle between requests, or with a head or a body that stops
    /// arriving; it is then closed. A connection whose request has been read is never closed while
    /// its answer is awaited or written.
    public var idleTimeout = 75.0
    /// Client connections open at once (`OFFPEAK_MAX_CONNECTIONS`); past it a new one is closed as
    /// soon as it is accepted. Nil: the process's descriptor limit less 512.
    public var maxConnections: Int?
    /// Seconds a gateway holds a batch it is preparing or polling without renewing its lease; work
    /// held by a gateway that died is taken over by the others after this long.
    public var lease = 30.0
    /// The policy file (`OFFPEAK_CONFIG` / `--config`), and the deferral rules read from it.
    public var configPath: String?
    public var policies = DeferralPolicies()
    /// The prices in force: the config file's `prices` section over the shipped defaults.
    public var prices = PriceTable.shipped

    public init() {}

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads the settings; flags come first in `reader`'s providers, then `OFFPEAK_*` variables.
    public init(reader: ConfigReader) throws {
        host = reader.string(forKey: "host", default: host)
        port = reader.int(forKey: "port", default: port)
        database = reader.string(forKey: "database", default: database)
        upstreamURL = reader.string(forKey: "upstream.url", default: upstreamURL)
        upstreamAPIKey = reader.string(forKey: "upstream.api.key", isSecret: true, default: "")
        clientKeys = Self.keys(reader.string(forKey: "api.keys", isSecret: true, default: ""))
        adminKeys = Self.keys(reader.string(forKey: "admin.keys", isSecret: true, default: ""))
        flush = FlushPolicy(
            maxRequests: reader.int(forKey: "flush.max.requests", default: 10_000),
            maxBytes: reader.int(forKey: "flush.max.bytes", default: 104_857_600),
            maxAge: try Self.seconds(reader.string(forKey: "flush.max.age", default: "60"), "flush max age"))
        pollInterval = try Self.seconds(reader.string(forKey: "poll.interval", default: "30"), "poll interval")
        completionWindow = reader.string(forKey: "completion.window", default: completionWindow)
        maxAttempts = reader.int(forKey: "max.attempts", default: maxAttempts)
        maxRequestBytes = reader.int(forKey: "max.request.bytes", default: maxRequestBytes)
        retention = try Self.seconds(reader.string(forKey: "retention", default: "2592000"), "OFFPEAK_RETENTION")
        keepUpstreamFiles = reader.bool(forKey: "keep.upstream.files", default: false)
        queueLimits = QueueBounds.Limits(
            maxQueued: try Self.count(reader.string(forKey: "max.queued", default: "1000000"), "OFFPEAK_MAX_QUEUED", least: 1),
            maxQueuedPerKey: try Self.count(
                reader.string(forKey: "max.queued.per.key", default: "0"), "OFFPEAK_MAX_QUEUED_PER_KEY", least: 0))
        webhookSecret = reader.string(forKey: "webhook.secret", isSecret: true)
        let delays = reader.string(forKey: "webhook.retry.delays", default: "")
        if !delays.isEmpty {
            webhookRetryDelays = try delays.split(separator: ",").map {
                try Self.seconds($0.trimmingCharacters(in: .whitespaces), "webhook retry delay")
            }
        }
        allowPrivateCallbacks = reader.bool(forKey: "allow.private.callbacks", default: false)
        consoleSecureCookie = reader.bool(forKey: "console.secure.cookie", default: false)
        webhookTimeout = try Self.seconds(reader.string(forKey: "webhook.timeout", default: "15"), "webhook timeout")
        lease = try Self.seconds(reader.string(forKey: "lease", default: "30"), "lease")
        idleTimeout = try Self.seconds(reader.string(forKey: "idle.timeout", default: "75"), "OFFPEAK_IDLE_TIMEOUT")
        if let connections = reader.string(forKey: "max.connections"), !connections.trimmingCharacters(in: .whitespaces).isEmpty {
            maxConnections = try Self.count(connections, "OFFPEAK_MAX_CONNECTIONS", least: 1)
        }
        configPath = reader.string(forKey: "config")
        if let configPath, !configPath.isEmpty {
            policies = try PolicyFile.load(path: configPath)
            upstreamList = try UpstreamFile.load(path: configPath)
            if let overrides = try PriceFile.load(path: configPath) { prices = prices.overridden(by: overrides) }
        }
        try validate()
    }

    public func validate() throws {
        guard upstreamURL.hasPrefix("http://") || upstreamURL.hasPrefix("https://") else {
            throw Invalid(description: "OFFPEAK_UPSTREAM_URL must be an http(s) URL ending in /v1, not '\(upstreamURL)'")
        }
        guard (0...65535).contains(port) else { throw Invalid(description: "OFFPEAK_PORT must be 0 to 65535") }
        if upstreamList == nil {
            do {
                try UpstreamRules.checkWindow(routes.upstreams[0], label: "OFFPEAK_COMPLETION_WINDOW")
            } catch {
                throw Invalid(description: error.description)
            }
        }
        guard maxAttempts >= 1 else { throw Invalid(description: "OFFPEAK_MAX_ATTEMPTS must be at least 1") }
        guard pollInterval > 0 else { throw Invalid(description: "OFFPEAK_POLL_INTERVAL must be positive") }
        guard lease >= 1 else { throw Invalid(description: "OFFPEAK_LEASE must be at least 1 second") }
        guard maxRequestBytes > 0 else { throw Invalid(description: "OFFPEAK_MAX_REQUEST_BYTES must be positive") }
        guard Set(adminKeys).isDisjoint(with: clientKeys) else {
            throw Invalid(description: "a key is in both OFFPEAK_ADMIN_KEYS and OFFPEAK_API_KEYS: an operator key must not be a client key")
        }
    }

    /// The upstreams a model is routed to, in order.
    public var routes: UpstreamRoutes {
        UpstreamRoutes(
            upstreamList ?? [
                Upstream(name: Upstream.defaultName, url: upstreamURL, apiKey: upstreamAPIKey, completionWindow: completionWindow)
            ])
    }

    static func keys(_ list: String) -> [String] {
        list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A whole number of at least `least`, or a refusal naming the variable.
    static func count(_ text: String, _ name: String, least: Int) throws -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= least else {
            throw Invalid(description: "\(name) must be a whole number of at least \(least), not '\(text)'")
        }
        return value
    }

    static func seconds(_ text: String, _ name: String) throws -> Double {
        guard let value = Double(text), value >= 0, value.isFinite else {
            throw Invalid(description: "\(name) must be a number of seconds, not '\(text)'")
        }
        return value
    }
}
