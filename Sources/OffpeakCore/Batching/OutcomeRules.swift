/// What becomes of one request when its batch ends.
public enum RowDisposition: Sendable, Equatable {
    /// A 2xx answer: kept as given.
    case complete(StoredResponse, TokenUsage?)
    /// Final failure, with the provider's answer where it gave one.
    case fail(DeferredError, StoredResponse?)
    /// Back to the queue for another batch. `refund` gives back the attempt this batch used,
    /// for rows that were never looked at because another line failed validation.
    case requeue(DeferredError, refund: Bool)
    /// Never run, and an operator cancelled its batch without re-queueing: the request is cancelled.
    case cancel(DeferredError)
}

/// An operator cancelled the batch (`POST /admin/v1/batches/{id}/cancel`): the rows it did not
/// run go back to the queue with their attempt given back, or are cancelled.
public struct OperatorCancel: Sendable, Equatable {
    public var requeue: Bool

    public init(requeue: Bool) {
        self.requeue = requeue
    }

    static let reason = DeferredError(code: "batch_cancelled", message: "an operator cancelled the batch before this request ran")
}

public struct OutcomeRules: Sendable {
    public var maxAttempts: Int

    public init(maxAttempts: Int) {
        self.maxAttempts = max(1, maxAttempts)
    }

    /// The row's fate from its output line, or from its absence (`line == nil`).
    /// `attempts` counts the batches the request has been placed in, this one included. In a batch
    /// an operator cancelled, a row that did not run follows `cancelled` instead.
    public func disposition(for line: OutputLine?, attempts: Int, cancelled: OperatorCancel? = nil) -> RowDisposition {
        if let cancelled, line?.response == nil {
            return cancelled.requeue ? .requeue(OperatorCancel.reason, refund: true) : .cancel(OperatorCancel.reason)
        }
        guard let line else {
            return retryOrFail(
                DeferredError(code: "not_executed", message: "the provider returned no result for this request"),
                response: nil, attempts: attempts)
        }
        if let response = line.response {
            switch response.statusCode {
            case 200..<300:
                return .complete(response, line.usage)
            case 429, 500..<600:
                return retryOrFail(
                    DeferredError(
                        code: "upstream_status_\(response.statusCode)",
                        message: "the provider answered \(response.statusCode) for this request"),
                    response: response, attempts: attempts)
            default:
                return .fail(
                    DeferredError(
                        code: "upstream_status_\(response.statusCode)",
                        message: "the provider rejected this request with status \(response.statusCode)"),
                    response)
            }
        }
        let error =
            line.error ?? DeferredError(code: "not_executed", message: "the provider returned no result for this request")
        return retryOrFail(error, response: nil, attempts: attempts)
    }

    /// The row's fate when its batch failed validation. `named` is the provider's error for this
    /// row's line, if it named it; `anyNamed` says whether the provider named any line at all.
    public func dispositionAfterValidationFailure(named: DeferredError?, anyNamed: Bool, attempts: Int) -> RowDisposition {
        if let named {
            return .fail(named, nil)
        }
        let reason = DeferredError(code: "batch_failed", message: "the batch holding this request failed validation")
        if anyNamed {
            return .requeue(reason, refund: true)
        }
        return retryOrFail(reason, response: nil, attempts: attempts)
    }

    private func retryOrFail(_ reason: DeferredError, response: StoredResponse?, attempts: Int) -> RowDisposition {
        if attempts < maxAttempts {
            return .requeue(reason, refund: false)
        }
        let error = DeferredError(
            code: "max_attempts_exceeded",
            message: "\(reason.message) (\(reason.code)); gave up after \(attempts) of \(maxAttempts) attempts")
        return .fail(error, response)
    }
}
