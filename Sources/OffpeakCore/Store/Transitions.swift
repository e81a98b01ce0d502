/// How a request ends, decided here and applied by a store as it is.
public struct RequestFinish: Sendable, Equatable {
    /// `completed` or `failed`.
    public var status: DeferredStatus
    public var response: StoredResponse?
    public var error: DeferredError?
    public var usage: TokenUsage?
    /// Where the answer came from: the usage ledger's lane.
    public var lane: Lane
    public var servedBy: ServedBy
    public var servedReason: String?
    /// The request's callback becomes due now.
    public var deliveryDue: Bool
    /// What it cost, when prices are known to the one who decided the finish.
    public var cost: Cost?

    public init(
        status: DeferredStatus, response: StoredResponse?, error: DeferredError?, usage: TokenUsage?, lane: Lane = .batch,
        servedBy: ServedBy, servedReason: String? = nil, deliveryDue: Bool, cost: Cost? = nil
    ) {
        self.status = status
        self.response = response
        self.error = error
        self.usage = usage
        self.lane = lane
        self.servedBy = servedBy
        self.servedReason = servedReason
        self.deliveryDue = deliveryDue
        self.cost = cost
    }

    /// A provider's answer obtained in real time: a 2xx completes, anything else fails; priced in
    /// the real-time lane when `prices` are given.
    public static func realtime(
        _ response: StoredResponse, reason: String, hasCallback: Bool, model: String, prices: PriceTable? = nil
    ) -> RequestFinish {
        let usage = OutputLine.usage(in: response.body)
        return RequestFinish(
            status: response.isSuccess ? .completed : .failed, response: response, error: nil, usage: usage, lane: .realtime,
            servedBy: .realtimeFallback, servedReason: reason, deliveryDue: hasCallback,
            cost: prices.map { Cost(usage: usage, model: model, lane: .realtime, completed: response.isSuccess, prices: $0) })
    }
}

extension DeferredRequest {
    /// The request as `finish` leaves it at `now`: what every store records
    /// (`RequestFinish.storedChanges(now:)` is the same change, column by column).
    public mutating func apply(_ finish: RequestFinish, now: Timestamp) {
        status = finish.status
        completedAt = now
        response = finish.response
        error = finish.error
        usage = finish.usage
        cost = finish.cost
        servedBy = finish.servedBy
        if let reason = finish.servedReason { servedReason = reason }
        if finish.deliveryDue { delivery.status = .pending }
    }
}

/// What becomes of one request of an ended batch, as the store applies it.
public enum Settlement: Sendable, Equatable {
    case finish(RequestFinish)
    /// Back to the queue; `refund` gives back the attempt this batch used. The store keeps the
    /// placement it leaves, with `reason`, for the request's trace.
    case requeue(reason: DeferredError, refund: Bool)

    /// The settlement of a member from its disposition. A request already
    /// answered from real time keeps saying so; its callback is due if it has one. With `prices`,
    /// a finish carries its cost in the batch lane (a failure costs 0: only successful rows are billed).
    public init(_ disposition: RowDisposition, member: BatchMember, model: String = "", prices: PriceTable? = nil) {
        let ended: (status: DeferredStatus, response: StoredResponse?, error: DeferredError?, usage: TokenUsage?)
        switch disposition {
        case .complete(let response, let usage): ended = (.completed, response, nil, usage)
        case .fail(let error, let response): ended = (.failed, response, error, nil)
        case .requeue(let reason, let refund):
            self = .requeue(reason: reason, refund: refund)
            return
        case .cancel(let error):
            // Never run: nothing to bill and no answer to deliver.
            self = .finish(
                RequestFinish(
                    status: .cancelled, response: nil, error: error, usage: nil, lane: .batch, servedBy: member.servedBy ?? .batch,
                    deliveryDue: false))
            return
        }
        let completed = ended.status == .completed
        self = .finish(
            RequestFinish(
                status: ended.status, response: ended.response, error: ended.error, usage: ended.usage, lane: .batch,
                servedBy: member.servedBy ?? .batch, deliveryDue: member.hasCallback,
                cost: prices.map { Cost(usage: ended.usage, model: model, lane: .batch, completed: completed, prices: $0) }))
    }

    public var finish: RequestFinish? {
        if case .finish(let finish) = self { return finish }
        return nil
    }
}

/// An answer obtained from real time for a deferred request (a policy's deadline fallback). The
/// call was made and is billed whatever becomes of the request: its usage record (lane
/// `realtime`) is written with the answer even when the request's state does not take it.
public enum RealtimeAnswer: Sendable, Equatable {
    /// The request was withdrawn from the queue: this is its result. Applies only to a request
    /// that is withdrawn (`cancelled`, served from real time).
    case result(RequestFinish)
    /// The request is in a batch, whose result follows: only note that the client was answered
    /// from real time (`servedReason` says why). Applies only to a request that has not ended.
    case noted(RequestFinish)

    /// The answer, as obtained.
    public var finish: RequestFinish {
        switch self {
        case .result(let finish), .noted(let finish): finish
        }
    }
}

/// Who may have a callback sent again (`POST /v1/deferred/{id}/redeliver`).
public enum Redelivery {
    public enum Result: Sendable, Equatable {
        case queued(DeferredRequest)
        case notFinished(DeferredRequest)
        case noCallback(DeferredRequest)
        case notFound
    }

    /// Nil when `request` may be redelivered; otherwise why not.
    public static func refusal(for request: DeferredRequest) -> Result? {
        guard request.callbackURL != nil else { return .noCallback(request) }
        guard request.status == .completed || request.status == .failed else { return .notFinished(request) }
        return nil
    }

    /// Starts a new series of attempts for the request's callback when it may have one.
    public static func redeliver(
        id: String, owner: String, now: Timestamp, store: some RequestStore & DeliveryQueue
    ) async throws -> Result {
        guard var request = try await store.request(id: id, owner: owner) else { return .notFound }
        if let refusal = refusal(for: request) { return refusal }
        guard try await store.restartDelivery(id: id, owner: owner, expected: request.status, now: now) else {
            return .notFinished(request)
        }
        request.delivery.status = .pending
        return .queued(request)
    }
}

/// A request that has just finished, as the workers that react to it need it.
public struct SettledRequest: Sendable, Equatable {
    public var id: String
    public var status: DeferredStatus
    public var hasCallback: Bool

    public init(id: String, status: DeferredStatus, hasCallback: Bool) {
        self.id = id
        self.status = status
        self.hasCallback = hasCallback
    }
}
