/// How a worker waits out a failing pass (the store down, its disk full): one second after the
/// first failure, doubling to `maxDelay`, back to normal at the first pass that succeeds. It logs
/// the first failure, then one in ten, and the recovery, so that an outage does not flood the log.
public struct FaultBackoff: Sendable {
    public var baseDelay: Double
    public var maxDelay: Double
    public private(set) var failures = 0

    public init(baseDelay: Double = 1, maxDelay: Double = 30) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// A pass failed: how long to wait before the next, and whether to log this failure.
    public mutating func failed() -> (delay: Double, log: Bool) {
        failures += 1
        let delay = min(maxDelay, baseDelay * Double(1 << min(failures - 1, 20)))
        return (delay, failures == 1 || failures % 10 == 0)
    }

    /// A pass succeeded: true when it ended a run of failures (worth a log line).
    public mutating func succeeded() -> Bool {
        defer { failures = 0 }
        return failures > 0
    }
}
