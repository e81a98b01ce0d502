/// What became of one placement of a request in a batch.
public enum AttemptOutcome: String, Sendable {
    /// Sent back to the queue (the reason says why), to go in another batch.
    case requeued
    case completed
    case failed
    case cancelled
    /// The batch has not answered yet.
    case pending
}

/// One placement of a request in a batch: a line of the operator's trace.
public struct Attempt: Sendable, Equatable {
    public var batchID: String
    public var upstreamBatchID: String?
    /// The request's line in the batch file.
    public var line: Int?
    public var outcome: AttemptOutcome
    public var reason: DeferredError?
    /// When the outcome came (for a pending one, when it was submitted).
    public var at: Timestamp?

    public init(
        batchID: String, upstreamBatchID: String?, line: Int?, outcome: AttemptOutcome, reason: DeferredError? = nil, at: Timestamp?
    ) {
        self.batchID = batchID
        self.upstreamBatchID = upstreamBatchID
        self.line = line
        self.outcome = outcome
        self.reason = reason
        self.at = at
    }

    /// The placement the request is in, or ended in, from its own row (`line`: its `batch_line`).
    /// Earlier placements are kept apart, written when the request left them.
    public static func current(of request: DeferredRequest, line: Int?) -> Attempt? {
        guard let batchID = request.batchID else { return nil }
        let outcome: AttemptOutcome
        switch request.status {
        case .queued: return nil
        case .submitted: outcome = .pending
        case .completed: outcome = .completed
        case .failed: outcome = .failed
        case .cancelled: outcome = .cancelled
        }
        return Attempt(
            batchID: batchID, upstreamBatchID: request.upstreamBatchID, line: line, outcome: outcome, reason: request.error,
            at: outcome == .pending ? request.submittedAt : request.completedAt)
    }

    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("batch_id", batchID)
        writer.field("upstream_batch_id", upstreamBatchID)
        writer.field("line", line)
        writer.field("outcome", outcome.rawValue)
        writer.key("reason")
        DeferredError.write(reason, to: &writer)
        writer.field("at", at.map { Int($0) })
        writer.endObject()
    }
}

/// A request as the operator sees it: the object, and every placement in a batch, oldest first.
public struct RequestTrace: Sendable, Equatable {
    public var request: DeferredRequest
    public var attempts: [Attempt]

    public init(request: DeferredRequest, attempts: [Attempt]) {
        self.request = request
        self.attempts = attempts
    }

    /// The request object with `trace`.
    public func jsonObject() -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 1024 + attempts.count * 160)
        request.write(to: &writer) { writer in
            writer.key("trace")
            writer.beginArray()
            for attempt in attempts { attempt.write(to: &writer) }
            writer.endArray()
        }
        return writer.bytes
    }
}
