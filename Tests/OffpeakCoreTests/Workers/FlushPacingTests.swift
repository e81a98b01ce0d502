import Testing

@testable import OffpeakCore

/// The flusher's looks at the queue are spaced by what the last one cost, so that a long queue is
/// not summed ten times a second; a group's due time is kept to regardless.
@Suite struct FlushPacingTests {
    @Test func aCheapLookKeepsTheConfiguredCadence() {
        let pace = FlushPacing(idleCheck: 1, minimumSpacing: 0.1, lookCost: 0.002)
        #expect(pace.spacing == 0.1)
        #expect(pace.wait(untilDue: nil, failedDelay: nil) == 1)
        #expect(pace.wait(untilDue: 0.4, failedDelay: nil) == 0.4)
    }

    @Test func aCostlyLookSpacesRingsAndIdleChecksButNotADueGroup() {
        // Summing a million queued requests: a third of a second.
        let pace = FlushPacing(idleCheck: 1, minimumSpacing: 0.1, lookCost: 0.33)
        #expect(abs(pace.spacing - 6.6) < 1e-9, "about 1/20 of a core spent looking")
        #expect(abs(pace.wait(untilDue: nil, failedDelay: nil) - 6.6) < 1e-9, "the idle check waits for the spacing")
        #expect(pace.wait(untilDue: 2, failedDelay: nil) == 2, "a group due in 2 s is looked at in 2 s")
        #expect(pace.wait(untilDue: -5, failedDelay: nil) == 0.01, "one overdue is looked at at once")
    }

    @Test func aFailedPassWaitsForItsBackoff() {
        let pace = FlushPacing(idleCheck: 1, minimumSpacing: 0.1, lookCost: 0)
        #expect(pace.wait(untilDue: nil, failedDelay: 8) == 8)
        #expect(pace.wait(untilDue: 0.5, failedDelay: 8) == 8)
    }

    @Test func oneSlowLookDoesNotSpaceTheNextButASlowQueueDoes() {
        var costs = QueueWatch.Costs()
        costs.record(0.002)
        costs.record(0.002)
        // A look that waited 4 s for the store's first connection after an outage.
        costs.record(4)
        #expect(costs.typical == 0.002, "the wait is not the queue's cost")
        #expect(QueueWatch.spacing(after: costs.typical, atLeast: 0.1) == 0.1)
        costs.record(0.002)
        #expect(costs.typical == 0.002)
        // A queue grown long: every sum is slow, and the looks space out.
        costs.record(0.33)
        costs.record(0.35)
        #expect(costs.typical == 0.33)
        #expect(abs(QueueWatch.spacing(after: costs.typical, atLeast: 0.1) - 6.6) < 1e-9)
    }

    @Test func theFirstLookAloneDoesNotSpaceTheSecond() {
        var costs = QueueWatch.Costs()
        costs.record(2)
        #expect(costs.typical == 0)
        costs.record(2)
        #expect(costs.typical == 2)
    }
}
