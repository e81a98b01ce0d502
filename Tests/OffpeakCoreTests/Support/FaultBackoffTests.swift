import OffpeakCore
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
