/// One entry of the usage ledger: a call to a provider that ended, as the provider bills it.
///
/// A deferred request has one entry per lane that answered it (one answered from real time while
/// it was also in a batch made two calls, and both are billed); a passthrough call has one. An
/// entry is written in the same transaction that ends the request and is keyed by request and
/// lane, so nothing retried, re-batched or re-applied after a restart counts twice. Entries are
/// kept apart from the requests: they outlive the purge of request bodies.
public struct UsageRecord: Sendable, Equatable {
    /// The upstream of a gateway configured without an `upstreams` list.
    public static let defaultUpstream = Upstream.defaultName

    /// The deferred request's id, or the id the gateway gave a passthrough call.
    public var requestID: String
    public var lane: Lane
    /// Hash of the client key (empty when client auth is off).
    public var owner: String
    public var upstream: String
    public var model: String
    public var endpoint: String
    /// When the call ended, in unix seconds: what a report's period is counted by.
    public var endedAt: Int64
    /// Completed (2xx); otherwise it failed, and costs 0.
    public var completed: Bool
    /// Nil when the provider did not say (a stream sent without a final `usage` chunk).
    public var usage: TokenUsage?
    /// Nil when no price table was consulted: reported as unpriced.
    public var cost: Cost?

    public init(
        requestID: String, lane: Lane, owner: String, upstream: String = defaultUpstream, model: String, endpoint: String,
        endedAt: Int64, completed: Bool, usage: TokenUsage?, cost: Cost?
    ) {
        self.requestID = requestID
        self.lane = lane
        self.owner = owner
        self.upstream = upstream
        self.model = model
        self.endpoint = endpoint
        self.endedAt = endedAt
        self.completed = completed
        self.usage = usage
        self.cost = cost
    }

    /// The entry of a deferred request that `finish` ends at `now`; nil when the end made no call
    /// (a request cancelled before it ran: the provider bills nothing, and it is not traffic).
    public init?(
        requestID: String, owner: String, upstream: String, model: String, endpoint: String, finish: RequestFinish, now: Timestamp
    ) {
        guard finish.status == .completed || finish.status == .failed else { return nil }
        self.init(
            requestID: requestID, lane: finish.lane, owner: owner, upstream: upstream, model: model, endpoint: endpoint,
            endedAt: Int64(now.rounded(.down)), completed: finish.status == .completed, usage: finish.usage, cost: finish.cost)
    }

    /// Billed at a price the table knows, in `currency`.
    func isPriced(in currency: String) -> Bool {
        cost.map { $0.priced && $0.currency == currency } ?? false
    }
}

/// The columns of `usage_records`, in the order of `UsageRecord.storedValues`.
public enum UsageColumns {
    public static let stored = StoredColumns([
        "request_id": .text, "lane": .text, "owner": .text, "upstream": .text, "model": .text, "endpoint": .text,
        "ended_at": .integer, "completed": .integer, "prompt_tokens": .integer, "completion_tokens": .integer,
        "cached_tokens": .integer, "reasoning_tokens": .integer, "currency": .text, "priced": .integer,
        "billed_picos": .integer, "list_picos": .integer,
    ])
}

extension UsageRecord {
    /// The values of `UsageColumns.stored`: money in pico-units, null when unpriced; tokens null when unknown.
    public var storedValues: [StoredValue] {
        [
            .text(requestID), .text(lane.rawValue), .text(owner), .text(upstream), .text(model), .text(endpoint),
            .integer(Int(endedAt)), .integer(completed ? 1 : 0), .integer(usage?.promptTokens),
            .integer(usage?.completionTokens), .integer(usage?.cachedTokens), .integer(usage?.reasoningTokens),
            .text(cost?.currency ?? ""), .integer(cost?.priced == true ? 1 : 0),
            .integer(cost?.billed.map { Int($0.picos) }), .integer(cost?.atListPrice.map { Int($0.picos) }),
        ]
    }
}

extension UsageRecord {
    /// The calls a passthrough is counted for: the endpoints that answer with token usage.
    public static let meteredEndpoints: Set<String> = [
        "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses", "/v1/messages",
    ]

    /// A passthrough call's record, in the real-time lane (or the flex lane, for a call a policy
    /// sent with `service_tier: "flex"`). A call that completed without saying what it used (a
    /// stream without a final `usage` chunk) has unknown tokens and no cost: it is reported among
    /// the unpriced requests, never as free.
    public static func passthrough(
        owner: String, upstream: String = defaultUpstream, lane: Lane = .realtime, endpoint: String, model: String, statusCode: Int,
        usage: TokenUsage?, prices: PriceTable, now: Timestamp
    ) -> UsageRecord {
        let completed = (200..<300).contains(statusCode)
        let cost = completed && usage == nil ? nil : Cost(usage: usage, model: model, lane: lane, completed: completed, prices: prices)
        return UsageRecord(
            requestID: Identifier.call(), lane: lane, owner: owner, upstream: upstream, model: model, endpoint: endpoint,
            endedAt: Int64(now.rounded(.down)), completed: completed, usage: usage, cost: cost)
    }
}
