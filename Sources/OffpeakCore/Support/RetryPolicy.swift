/// Exponential backoff with full jitter, bounded, and overridden by the provider's `Retry-After`.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Double
    public var maxDelay: Double

    public init(maxAttempts: Int = 6, baseDelay: Double = 0.5, maxDelay: Double = 30) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Seconds to wait before attempt `attempt + 1` (attempt counts from 1).
    public func delay(afterAttempt attempt: Int, retryAfter: Double?, random: Double = Double.random(in: 0...1)) -> Double {
        if let retryAfter { return min(max(0, retryAfter), maxDelay * 4) }
        let ceiling = min(maxDelay, baseDelay * Double(1 << min(attempt - 1, 20)))
        return ceiling / 2 + ceiling / 2 * random
    }

    /// Runs `operation` until it succeeds, fails for good, or runs out of attempts.
    public func run<T: Sendable>(
        clock: some WorkerClock,
        onRetry: (ProviderError, Int, Double) -> Void = { _, _, _ in },
        _ operation: () async throws(ProviderError) -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch {
                guard error.isRetryable, attempt < maxAttempts else { throw error }
                let wait = delay(afterAttempt: attempt, retryAfter: error.retryAfter)
                onRetry(error, attempt, wait)
                try await clock.sleep(seconds: wait)
                attempt += 1
            }
        }
    }
}
