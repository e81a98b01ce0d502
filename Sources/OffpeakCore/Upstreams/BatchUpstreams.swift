/// Where each upstream's batches go and what they may hold: the flusher claims and submits a
/// group's files, and the poller polls and reads a batch, through the target of its upstream.
/// A gateway without an `upstreams` list has one, `default`.
public struct BatchUpstreams: Sendable {
    public struct Target: Sendable {
        public let provider: any BatchProvider
        /// The flush policy within this upstream's limits.
        public let policy: FlushPolicy
        /// Sent with each batch (nil where the provider takes none).
        public let completionWindow: String?
        /// Seconds between polls of its batches (nil: the poller's).
        public let pollInterval: Double?

        public init(provider: any BatchProvider, policy: FlushPolicy, completionWindow: String?, pollInterval: Double? = nil) {
            self.provider = provider
            self.policy = policy
            self.completionWindow = completionWindow
            self.pollInterval = pollInterval
        }
    }

    private let targets: [String: Target]

    public init(_ targets: [String: Target]) {
        self.targets = targets
    }

    public static func single(_ provider: any BatchProvider, policy: FlushPolicy, completionWindow: String?) -> BatchUpstreams {
        BatchUpstreams([Upstream.defaultName: Target(provider: provider, policy: policy, completionWindow: completionWindow)])
    }

    /// The target of `upstream`; nil for one no longer configured (its work waits until it is again).
    public func target(_ upstream: String) -> Target? {
        targets[upstream]
    }

    /// The flush policy of the operator (`OFFPEAK_FLUSH_*`) held within an upstream's limits.
    public static func policy(_ policy: FlushPolicy, within limits: Upstream.Limits) -> FlushPolicy {
        var bounded = policy
        bounded.maxRequests = min(policy.maxRequests, limits.maxLines)
        bounded.maxBytes = min(policy.maxBytes, limits.maxBytes)
        return bounded
    }
}
