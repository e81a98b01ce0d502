import OffpeakCore
import Testing

@Suite struct OutcomeRulesTests {
    let rules = OutcomeRules(maxAttempts: 3)

    func line(status: Int?, error: DeferredError? = nil) -> OutputLine {
        OutputLine(
            customID: "dfr_1",
            response: status.map { StoredResponse(statusCode: $0, requestID: "req", body: Array(#"{"x":1}"#.utf8)) },
            error: error, usage: status == 200 ? TokenUsage(promptTokens: 3, completionTokens: 4) : nil)
    }

    @Test func inABatchAnOperatorCancelledRowsThatDidNotRunAreRequeuedWithTheirAttemptOrCancelled() {
        let notRun = line(status: nil, error: DeferredError(code: "batch_cancelled", message: "cancelled"))
        let requeue = OperatorCancel(requeue: true)
        let cancel = OperatorCancel(requeue: false)
        for attempts in [1, 3] {
            guard case .requeue(let reason, refund: true) = rules.disposition(for: notRun, attempts: attempts, cancelled: requeue) else {
                Issue.record("not re-queued with its attempt given back")
                return
            }
            #expect(reason.code == "batch_cancelled")
            #expect(rules.disposition(for: nil, attempts: attempts, cancelled: requeue) == .requeue(reason, refund: true))
            #expect(rules.disposition(for: notRun, attempts: attempts, cancelled: cancel) == .cancel(reason))
        }
        // What the provider finished before the cancel follows the usual rules.
        let done = line(status: 200)
        #expect(rules.disposition(for: done, attempts: 1, cancelled: cancel) == .complete(done.response!, done.usage))
        #expect(rules.disposition(for: line(status: 400), attempts: 1, cancelled: requeue) == rules.disposition(for: line(status: 400), attempts: 1))
        let member = BatchMember(line: 1, attempts: 1, hasCallback: true)
        let settlement = Settlement(.cancel(DeferredError(code: "batch_cancelled", message: "m")), member: member)
        #expect(settlement.finish?.status == .cancelled && settlement.finish?.deliveryDue == false)
        #expect(UsageRecord(requestID: "dfr_1", owner: "", upstream: "default", model: "m", endpoint: "/v1/chat/completions", finish: settlement.finish!, now: 1) == nil,
            "never run: not on the ledger")
    }

    @Test(arguments: [200, 201, 299])
    func aSuccessIsKeptAsGiven(status: Int) {
        let row = line(status: status)
        #expect(rules.disposition(for: row, attempts: 3) == .complete(row.response!, row.usage))
    }

    @Test(arguments: [429, 500, 502, 503])
    func retryableStatusesGoBackWhileAttemptsRemain(status: Int) {
        guard case .requeue(_, refund: false) = rules.disposition(for: line(status: status), attempts: 2) else {
            Issue.record("expected a requeue")
            return
        }
        guard case .fail(let error, let response) = rules.disposition(for: line(status: status), attempts: 3) else {
            Issue.record("expected a failure once attempts are spent")
            return
        }
        #expect(error.code == "max_attempts_exceeded")
        #expect(response?.statusCode == status)
    }

    @Test(arguments: [400, 401, 404, 413, 422])
    func otherClientErrorsFailAtOnceWithTheProviderAnswer(status: Int) {
        guard case .fail(let error, let response) = rules.disposition(for: line(status: status), attempts: 1) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == "upstream_status_\(status)")
        #expect(response?.statusCode == status)
        #expect(response?.body == Array(#"{"x":1}"#.utf8))
    }

    @Test func anErrorObjectMeansNotExecuted() {
        let expired = line(status: nil, error: DeferredError(code: "batch_expired", message: "expired"))
        #expect(rules.disposition(for: expired, attempts: 1) == .requeue(DeferredError(code: "batch_expired", message: "expired"), refund: false))
        guard case .fail(let error, nil) = rules.disposition(for: expired, attempts: 3) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == "max_attempts_exceeded")
        #expect(error.message.contains("batch_expired"))
    }

    @Test func aMissingLineMeansNotExecuted() {
        guard case .requeue(let reason, refund: false) = rules.disposition(for: nil, attempts: 1) else {
            Issue.record("expected a requeue")
            return
        }
        #expect(reason.code == "not_executed")
        guard case .fail = OutcomeRules(maxAttempts: 1).disposition(for: nil, attempts: 1) else {
            Issue.record("expected a failure with one attempt allowed")
            return
        }
    }

    @Test func validationFailureFailsOnlyTheNamedLines() {
        let named = DeferredError(code: "invalid_json_line", message: "bad line")
        #expect(rules.dispositionAfterValidationFailure(named: named, anyNamed: true, attempts: 1) == .fail(named, nil))
        guard case .requeue(_, refund: true) = rules.dispositionAfterValidationFailure(named: nil, anyNamed: true, attempts: 3)
        else {
            Issue.record("an innocent line goes back without spending an attempt")
            return
        }
        guard case .requeue(_, refund: false) = rules.dispositionAfterValidationFailure(named: nil, anyNamed: false, attempts: 1)
        else {
            Issue.record("a batch failed without naming lines spends an attempt")
            return
        }
        guard case .fail = rules.dispositionAfterValidationFailure(named: nil, anyNamed: false, attempts: 3) else {
            Issue.record("and fails once they are spent")
            return
        }
    }

    @Test func retryPolicyHonoursRetryAfterAndGrows() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: 1, maxDelay: 8)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 2.5) == 2.5)
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 1) == 1)
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 1) == 4)
        #expect(policy.delay(afterAttempt: 10, retryAfter: nil, random: 1) == 8)
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 0) == 2)
    }
}
