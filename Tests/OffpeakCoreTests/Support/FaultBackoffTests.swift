import Logging
import OffpeakCore
import Synchronization
import Testing

@Suite struct FaultBackoffTests {
    @Test func delaysDoubleToTheCapLogSparinglyAndResetOnSuccess() {
        var backoff = FaultBackoff(baseDelay: 1, maxDelay: 30)
        let passes = (1...12).map { _ in backoff.failed() }
        #expect(passes.map(\.delay) == [1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 30])
        let logged = passes.indices.filter { passes[$0].log }.map { $0 + 1 }
        #expect(logged == [1, 10])
        let ended = backoff.succeeded()
        let again = backoff.succeeded()
        #expect(ended, "the success that ends an outage is reported")
        #expect(!again)
        let next = backoff.failed()
        #expect(next.delay == 1)
    }

    @Test func aWorkerLogsTheFirstFailureEveryTenthAndTheRecovery() {
        let lines = Lines()
        let logger = Logger(label: "backoff") { _ in lines }
        var backoff = FaultBackoff(baseDelay: 1, maxDelay: 30)
        let delays = (1...10).map { _ in backoff.failed(Failure(), "pass failed", level: .warning, logger: logger) }
        backoff.succeeded("passes succeed again", logger: logger)
        backoff.succeeded("passes succeed again", logger: logger)
        #expect(delays.prefix(3) == [1, 2, 4])
        #expect(lines.logged == ["warning pass failed 1", "warning pass failed 10", "notice passes succeed again"])
    }

    @Test func healthHoldsAFaultUntilASuccessOrItsMemoryRunsOut() {
        let health = StoreHealth(memory: 10)
        health.failed(StoreFault(.diskFull, "x"), now: 100)
        health.failed(StoreFault(.diskFull, "x"), now: 105)
        #expect(health.current(now: 110)?.since == 100)
        #expect(health.current(now: 116) == nil, "forgotten without a new failure")
        #expect(health.succeeded())
        #expect(health.current(now: 106) == nil)
        #expect(!health.succeeded())
    }
}

private struct Failure: Error {}

/// The lines a logger was given: level, message and the `failures` count.
private final class Lines: LogHandler, Sendable {
    private let lines = Mutex([String]())
    var logged: [String] { lines.withLock { $0 } }

    func log(event: LogEvent) {
        let failures = event.metadata?["failures"].map { " \($0)" } ?? ""
        lines.withLock { $0.append("\(event.level) \(event.message)\(failures)") }
    }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
    subscript(metadataKey _: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }
}
