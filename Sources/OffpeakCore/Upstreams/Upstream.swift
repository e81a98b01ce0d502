import Foundation

/// A provider Offpeak sends calls and batches to: its API's kind, where it
/// is, its key, the models routed to it, and what its batches may hold.
public struct Upstream: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// Any OpenAI-compatible Batch API (OpenAI, Alibaba Cloud Model Studio, …).
        case openai
        /// Anthropic's Message Batches.
        case anthropic
    }

    /// The provider's limits on one batch.
    public struct Limits: Sendable, Equatable {
        public var maxLines: Int
        public var maxBytes: Int
        public var maxLineBytes: Int

        public init(maxLines: Int, maxBytes: Int, maxLineBytes: Int) {
            self.maxLines = maxLines
            self.maxBytes = maxBytes
            self.maxLineBytes = maxLineBytes
        }

        /// OpenAI's and DashScope's: 50,000 lines, 500 MB a file, 6 MB a line.
        public static let openAI = Limits(
            maxLines: FlushPolicy.providerMaxRequests, maxBytes: FlushPolicy.providerMaxBytes, maxLineBytes: 6_000_000)
        /// Anthropic's: 100,000 requests or 256 MB a batch.
        public static let anthropic = Limits(maxLines: 100_000, maxBytes: 256_000_000, maxLineBytes: 256_000_000)

        public static func defaults(for kind: Kind) -> Limits { kind == .anthropic ? .anthropic : .openAI }
    }

    /// The name of the single upstream of `OFFPEAK_UPSTREAM_URL`, when no list is configured.
    public static let defaultName = "default"

    public var name: String
    public var kind: Kind
    public var url: String
    /// The variable the key was read from, shown in place of the key (nil for `OFFPEAK_UPSTREAM_API_KEY`).
    public var apiKeyEnv: String?
    /// Never written to a log or an answer: `description` leaves it out.
    public var apiKey: String
    /// Model globs (`*`, `?`); the first upstream whose globs match a model takes it.
    public var models: [String]
    /// Sent with each batch as given (OpenAI-compatible upstreams only).
    public var completionWindow: String?
    public var limits: Limits
    /// The provider sells `service_tier: "flex"` (OpenAI).
    public var flex: Bool
    /// Seconds between polls of its batches (nil: `OFFPEAK_POLL_INTERVAL`).
    public var pollInterval: Double?

    public init(
        name: String, kind: Kind = .openai, url: String, apiKeyEnv: String? = nil, apiKey: String, models: [String] = ["*"],
        completionWindow: String? = "24h", limits: Limits? = nil, flex: Bool = false, pollInterval: Double? = nil
    ) {
        self.pollInterval = pollInterval
        self.name = name
        self.kind = kind
        self.url = url
        self.apiKeyEnv = apiKeyEnv
        self.apiKey = apiKey
        self.models = models
        self.completionWindow = kind == .anthropic ? nil : completionWindow
        self.limits = limits ?? .defaults(for: kind)
        self.flex = flex
    }

    public var description: String {
        let key = apiKeyEnv.map { "key from $\($0)" } ?? "key from OFFPEAK_UPSTREAM_API_KEY"
        let window = completionWindow.map { ", window \($0)" } ?? ""
        return "\(name) (\(kind.rawValue), \(url), \(key), models \(models.joined(separator: " "))\(window)"
            + ", at most \(limits.maxLines) lines / \(limits.maxBytes) bytes a batch\(flex ? ", flex" : "")"
            + (pollInterval.map { ", polled every \($0) s" } ?? "") + ")"
    }

    public func takes(model: String) -> Bool {
        models.contains { Glob.matches($0, model) }
    }
}

/// The upstreams in the order they are tried: a model goes to the first that takes it, for
/// passthrough and batches alike.
public struct UpstreamRoutes: Sendable, Equatable {
    public let upstreams: [Upstream]

    public init(_ upstreams: [Upstream]) {
        self.upstreams = upstreams
    }

    /// Whether a call's model decides where it goes: more than one upstream, or one that does not
    /// take every model.
    public var routesByModel: Bool {
        upstreams.count > 1 || upstreams.first?.models != ["*"]
    }

    public func route(model: String) -> Upstream? {
        upstreams.first { $0.takes(model: model) }
    }

    public func named(_ name: String) -> Upstream? {
        upstreams.first { $0.name == name }
    }
}

/// Why a deferred call cannot go to any upstream's batches.
public enum RoutingRefusal: Error, Sendable, Equatable {
    /// No upstream's `models` globs match the model.
    case modelNotRouted(model: String)
    /// The upstream the model is routed to does not batch this endpoint.
    case endpointNotBatchable(endpoint: String, upstream: String)
}

extension Upstream {
    /// The endpoints whose calls this upstream takes in batches.
    public var batchableEndpoints: [String] {
        kind == .openai ? BatchEndpoints.deferrable : BatchEndpoints.anthropic
    }
}

extension UpstreamRoutes {
    /// The upstream whose batches a deferred call to `endpoint` for `model` goes in.
    public func batchUpstream(model: String, endpoint: String) -> Result<Upstream, RoutingRefusal> {
        guard let upstream = route(model: model) else { return .failure(.modelNotRouted(model: model)) }
        guard upstream.batchableEndpoints.contains(endpoint) else {
            return .failure(.endpointNotBatchable(endpoint: endpoint, upstream: upstream.name))
        }
        return .success(upstream)
    }
}
