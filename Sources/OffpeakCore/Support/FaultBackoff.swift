import Logging

/// How a worker waits out a failing pass (the store down, its disk full): one second after the
/// first failure, doubling to `maxDelay`, back to normal at the first pass that succeeds. It logs
/// the first failure, then one in ten, and the recovery, so that an outage does not flood the log.
import Logging

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

    /// A pass failed with `error`: logs `message` when this failure is one to log, and returns how
    /// long to wait before the next pass.
    public mutating func failed(
        _ error: any Error, _ message: @autoclosure () -> Logger.Message, level: Logger.Level = .error, logger: Logger
    ) -> Double {
        let (delay, log) = failed()
        if log { logger.log(level: level, message(), metadata: ["error": "\(error)", "failures": "\(failures)"]) }
        return delay
    }

    /// A pass succeeded: logs `recovery` when it ended a run of failures.
    public mutating func succeeded(_ recovery: @autoclosure () -> Logger.Message, logger: Logger) {
        if succeeded() { logger.notice(recovery()) }
    }
}
