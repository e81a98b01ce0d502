/// When a callback is retried and when it is given up.
public struct DeliveryPolicy: Sendable, Equatable {
    /// Seconds before each retry; one more attempt than delays in all.
    public var retryDelays: [Double]
    /// Each delay is stretched or shrunk by up to this fraction, so that retries do not stampede.
    public var jitter: Double
    /// The longest `Retry-After` honoured.
    public var maxRetryAfter: Double

    public init(retryDelays: [Double], jitter: Double = 0.1, maxRetryAfter: Double = 86_400) {
        self.retryDelays = retryDelays
        self.jitter = jitter
        self.maxRetryAfter = maxRetryAfter
    }

    public enum Decision: Sendable, Equatable {
        case delivered
        /// Try again this many seconds from now.
        case retry(after: Double)
        case giveUp
    }

    /// `attempt` counts the attempts of this series, this one included (1 for the first).
    public func decide(_ result: WebhookAttempt, attempt: Int, random: Double = Double.random(in: -1...1)) -> Decision {
        var retryAfter: Double?
        switch result {
        case .answered(let status, let after):
            if (200..<300).contains(status) { return .delivered }
            if status == 410 { return .giveUp }
            retryAfter = after
        case .failed:
            break
        }
        guard attempt <= retryDelays.count else { return .giveUp }
        let base = retryDelays[attempt - 1]
        let delay = max(0, base * (1 + jitter * random))
        if let retryAfter { return .retry(after: min(max(delay, retryAfter), maxRetryAfter)) }
        return .retry(after: delay)
    }
}
