/// Seconds since 1970, with fractions: the one time type the domain and the stores share.
public typealias Timestamp = Double

public enum DeferredStatus: String, Sendable, CaseIterable {
    case queued, submitted, completed, failed, cancelled

    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .cancelled: true
        case .queued, .submitted: false
        }
    }
}

/// The provider's answer to one request, as it gave it.
public struct StoredResponse: Sendable, Equatable {
    public var statusCode: Int
    public var requestID: String?
    /// The raw JSON body, byte for byte.
    public var body: [UInt8]

    public init(statusCode: Int, requestID: String?, body: [UInt8]) {
        self.statusCode = statusCode
        self.requestID = requestID
        self.body = body
    }

    /// A 2xx answer: the request is completed by it (any other status fails it).
    public var isSuccess: Bool { (200..<300).contains(statusCode) }
}

public struct DeferredError: Sendable, Equatable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

/// Token counts of a completed request, as the provider reported them.
public struct TokenUsage: Sendable, Equatable {
    /// Input tokens, cached ones included.
    public var promptTokens: Int
    /// Output tokens, reasoning ones included.
    public var completionTokens: Int
    /// Of the prompt tokens, those read from the provider's context cache.
    public var cachedTokens: Int
    /// Of the completion tokens, those spent thinking.
    public var reasoningTokens: Int

    public init(promptTokens: Int, completionTokens: Int, cachedTokens: Int = 0, reasoningTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.reasoningTokens = reasoningTokens
    }
}

public enum DeliveryStatus: String, Sendable {
    case none, pending, delivered, failed
}

public struct DeliveryState: Sendable, Equatable {
    public var status: DeliveryStatus
    public var attempts: Int
    public var lastStatusCode: Int?
    public var lastError: String?

    public init(status: DeliveryStatus = .none, attempts: Int = 0, lastStatusCode: Int? = nil, lastError: String? = nil) {
        self.status = status
        self.attempts = attempts
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
    }
}

/// How a deferred request was answered, for the cost report: by its batch, or from real time after
/// its policy's deadline.
public enum ServedBy: String, Sendable {
    case batch
    /// A policy's flex lane (`service_tier: "flex"`); such calls are not stored.
    case flex
    case realtimeFallback = "realtime-fallback"
}

/// One deferred call, as the store keeps it (its body is kept apart and read only to build files).
public struct DeferredRequest: Sendable, Equatable {
    public var id: String
    /// Hash of the client key that created it; empty when client auth is off.
    public var owner: String
    public var endpoint: String
    public var model: String
    /// The upstream its model is routed to, where its batches go.
    public var upstream: String
    public var status: DeferredStatus
    public var createdAt: Timestamp
    public var submittedAt: Timestamp?
    public var completedAt: Timestamp?
    /// How many upstream batches this request has been placed in.
    public var attempts: Int
    public var batchID: String?
    public var upstreamBatchID: String?
    public var callbackURL: String?
    public var idempotencyKey: String?
    public var bodyDigest: String
    public var bodyBytes: Int
    public var response: StoredResponse?
    public var error: DeferredError?
    public var usage: TokenUsage?
    /// What it cost, once it has ended (nil before, or when it ended without prices known).
    public var cost: Cost?
    public var delivery: DeliveryState
    /// The policy rule that deferred it (nil for an explicit `Prefer: respond-async`).
    public var policy: String?
    public var servedBy: ServedBy?
    /// Why it was served from real time.
    public var servedReason: String?
    /// When its request and response bodies were deleted (retention, or its owner's `DELETE`).
    public var purgedAt: Timestamp?

    public init(
        id: String, owner: String, endpoint: String, model: String, upstream: String = Upstream.defaultName,
        status: DeferredStatus = .queued,
        createdAt: Timestamp, submittedAt: Timestamp? = nil, completedAt: Timestamp? = nil, attempts: Int = 0,
        batchID: String? = nil, upstreamBatchID: String? = nil, callbackURL: String? = nil,
        idempotencyKey: String? = nil, bodyDigest: String, bodyBytes: Int, response: StoredResponse? = nil,
        error: DeferredError? = nil, usage: TokenUsage? = nil, cost: Cost? = nil, delivery: DeliveryState = .init(),
        policy: String? = nil,
        servedBy: ServedBy? = nil, servedReason: String? = nil, purgedAt: Timestamp? = nil
    ) {
        self.purgedAt = purgedAt
        self.id = id
        self.owner = owner
        self.endpoint = endpoint
        self.model = model
        self.upstream = upstream
        self.status = status
        self.createdAt = createdAt
        self.submittedAt = submittedAt
        self.completedAt = completedAt
        self.attempts = attempts
        self.batchID = batchID
        self.upstreamBatchID = upstreamBatchID
        self.callbackURL = callbackURL
        self.idempotencyKey = idempotencyKey
        self.bodyDigest = bodyDigest
        self.bodyBytes = bodyBytes
        self.response = response
        self.error = error
        self.usage = usage
        self.cost = cost
        self.delivery = delivery
        self.policy = policy
        self.servedBy = servedBy
        self.servedReason = servedReason
    }
}

/// What the accept path hands to the store.
public struct NewDeferredRequest: Sendable {
    public var record: DeferredRequest
    /// The client's body, with line breaks outside strings folded so that it is one JSONL line.
    public var body: [UInt8]
    /// The size of its line in a batch file, which the flush policy sums.
    public var lineBytes: Int

    public init(record: DeferredRequest, body: [UInt8]) {
        self.record = record
        self.body = body
        self.lineBytes = BatchLine.size(id: record.id, endpoint: record.endpoint, bodyBytes: body.count)
    }
}
