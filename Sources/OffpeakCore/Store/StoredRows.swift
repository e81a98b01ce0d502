/// One row of a SQL store, read by column name. Each backend adapts its own row type to this, so
/// that the columns and their mapping to the domain types are written once, here.
public protocol StoredRow {
    func text(_ column: String) throws -> String?
    func integer(_ column: String) throws -> Int?
    func real(_ column: String) throws -> Double?
    func blob(_ column: String) throws -> [UInt8]?
}

/// A column the row must have.
public struct MissingColumn: Error, CustomStringConvertible {
    public let column: String
    public var description: String { "the store returned no value for \(column)" }
}

extension StoredRow {
    func required<T>(_ column: String, _ read: (String) throws -> T?) throws -> T {
        guard let value = try read(column) else { throw MissingColumn(column: column) }
        return value
    }
}

/// The columns of `deferred_requests` a request is read with (never its body). `response_body`
/// may be an expression in a backend that keeps bodies apart.
public enum RequestColumns {
    public static let names = [
        "id", "owner", "endpoint", "model", "status", "created_at", "submitted_at", "completed_at", "attempts", "batch_id",
        "upstream_batch_id", "callback_url", "idempotency_key", "body_digest", "body_bytes", "response_status",
        "response_request_id", "response_body", "error_code", "error_message", "prompt_tokens", "completion_tokens",
        "cached_tokens", "reasoning_tokens", "cost_lane", "cost_currency", "cost_priced", "cost_billed", "cost_list",
        "delivery_status", "delivery_attempts", "delivery_last_status", "delivery_last_error", "policy", "served_by",
        "served_reason", "upstream", "purged_at",
    ]

    /// The select list, with `response_body` read through `responseBody` where it is kept apart.
    public static func select(responseBody: String = "response_body") -> String {
        names.map {
            switch $0 {
            case "response_body": "\(responseBody) AS response_body"
            case "upstream_batch_id": "\(upstreamBatchID(of: "deferred_requests")) AS upstream_batch_id"
            default: $0
            }
        }.joined(separator: ", ")
    }

    /// The provider's id of the batch a request is in, read from that batch: marking a batch live
    /// then writes one row, not one per request in it (50,000 rewritten rows were a sixth of a
    /// flush). The requests' own `upstream_batch_id` column is no longer written or read.
    public static func upstreamBatchID(of requests: String) -> String {
        "(SELECT upstream_id FROM batches WHERE batches.id = \(requests).batch_id)"
    }
}

/// A value as a SQL store keeps it in one column (bodies are kept apart, as each backend chooses).
public enum StoredValue: Sendable, Equatable {
    case text(String?)
    case integer(Int?)
    case real(Double?)
}

/// The kind of a column's values.
public enum StoredKind: Sendable {
    case text, integer, real
}

/// The columns a transition writes, in order, with their kinds: a backend builds its statement
/// from them, and binds the values Core gives in the same order.
public struct StoredColumns: Sendable {
    public let names: [String]
    public let kinds: [StoredKind]

    init(_ columns: KeyValuePairs<String, StoredKind>) {
        names = columns.map(\.key)
        kinds = columns.map(\.value)
    }
}

extension RequestColumns {
    /// What a new request is stored with (its body apart): `NewDeferredRequest.storedValues`.
    public static let accepted = StoredColumns([
        "id": .text, "owner": .text, "endpoint": .text, "model": .text, "status": .text, "created_at": .real,
        "attempts": .integer, "callback_url": .text, "idempotency_key": .text, "body_digest": .text, "body_bytes": .integer,
        "line_bytes": .integer, "delivery_status": .text, "policy": .text, "upstream": .text,
    ])

    /// What a request's end changes (its response body apart): `RequestFinish.storedChanges(now:)`.
    public static let finished = StoredColumns([
        "status": .text, "completed_at": .real, "response_status": .integer, "response_request_id": .text,
        "error_code": .text, "error_message": .text, "prompt_tokens": .integer, "completion_tokens": .integer,
        "cached_tokens": .integer, "reasoning_tokens": .integer, "cost_lane": .text, "cost_currency": .text,
        "cost_priced": .integer, "cost_billed": .integer, "cost_list": .integer, "served_by": .text, "served_reason": .text,
        "delivery_status": .text, "delivery_next_at": .real,
    ])
}

extension NewDeferredRequest {
    /// The values of `RequestColumns.accepted`: a new request is queued, with no attempt yet.
    public var storedValues: [StoredValue] {
        [
            .text(record.id), .text(record.owner), .text(record.endpoint), .text(record.model),
            .text(DeferredStatus.queued.rawValue), .real(record.createdAt), .integer(0), .text(record.callbackURL),
            .text(record.idempotencyKey), .text(record.bodyDigest), .integer(body.count), .integer(lineBytes),
            .text(record.delivery.status.rawValue), .text(record.policy), .text(record.upstream),
        ]
    }
}

extension RequestFinish {
    /// The changes of `RequestColumns.finished`; nil keeps the row's value (no reason given, no
    /// callback due).
    public func storedChanges(now: Timestamp) -> [StoredValue?] {
        let outcome: [StoredValue?] = [
            .text(status.rawValue), .real(now), .integer(response?.statusCode), .text(response?.requestID), .text(error?.code),
            .text(error?.message),
        ]
        let tokens: [StoredValue?] = [
            .integer(usage?.promptTokens), .integer(usage?.completionTokens), .integer(usage?.cachedTokens),
            .integer(usage?.reasoningTokens),
        ]
        let billed = cost?.billed.map { Int($0.picos) }
        let list = cost?.atListPrice.map { Int($0.picos) }
        let money: [StoredValue?] = [
            .text(cost?.lane.rawValue), .text(cost?.currency), .integer(cost.map { $0.priced ? 1 : 0 }), .integer(billed),
            .integer(list),
        ]
        let served: [StoredValue?] = [.text(servedBy.rawValue), servedReason.map { .text($0) }]
        let delivery: [StoredValue?] = [deliveryDue ? .text(DeliveryStatus.pending.rawValue) : nil, deliveryDue ? .real(now) : nil]
        return outcome + tokens + money + served + delivery
    }
}

/// The columns of `batches`.
public enum BatchColumns {
    public static let names = [
        "id", "endpoint", "model", "state", "request_count", "file_bytes", "created_at", "input_file_id", "upstream_id",
        "upstream_status", "next_poll_at", "ended_at", "submitted_at", "output_file_id", "error_file_id", "counts_total",
        "counts_completed", "counts_failed", "cancel_requeue", "upstream",
    ]
    public static var select: String { names.joined(separator: ", ") }

    /// The SQL twin of `BatchRecord.status`, for filtering by it.
    public static let status = """
        (CASE state WHEN 'preparing' THEN 'preparing' WHEN 'abandoned' THEN 'failed' \
        ELSE COALESCE(upstream_status, 'validating') END)
        """

    /// Open batches (preparing or live) counted by status.
    public static let openCounts = """
        SELECT \(status) AS status, COUNT(*) AS count FROM batches WHERE state IN ('preparing', 'live') GROUP BY 1
        """

    /// The SQL twin of `BatchRecord.name`, for searching by it.
    public static let name = """
        ('offpeak ' || model || ' ' || request_count || CASE WHEN request_count = 1 THEN ' request' ELSE ' requests' END)
        """

    /// The changes of a poll (`BatchProgress`): a nil keeps the column's value.
    public static let progress = StoredColumns([
        "upstream_status": .text, "counts_total": .integer, "counts_completed": .integer, "counts_failed": .integer,
        "output_file_id": .text, "error_file_id": .text,
    ])
}

extension BatchProgress {
    /// The values of `BatchColumns.progress`; nil keeps what is stored.
    public var storedChanges: [StoredValue?] {
        [
            .text(status.text), counts.map { .integer($0.total) }, counts.map { .integer($0.completed) },
            counts.map { .integer($0.failed) }, outputFileID.map { .text($0) }, errorFileID.map { .text($0) },
        ]
    }
}

extension DeferredRequest {
    public init(row: some StoredRow) throws {
        let response: StoredResponse? = try row.integer("response_status").map {
            StoredResponse(statusCode: $0, requestID: try row.text("response_request_id"), body: try row.blob("response_body") ?? [])
        }
        let error: DeferredError? = try row.text("error_code").map {
            DeferredError(code: $0, message: try row.text("error_message") ?? "")
        }
        let usage: TokenUsage? = try row.integer("prompt_tokens").map {
            TokenUsage(
                promptTokens: $0, completionTokens: try row.integer("completion_tokens") ?? 0,
                cachedTokens: try row.integer("cached_tokens") ?? 0, reasoningTokens: try row.integer("reasoning_tokens") ?? 0)
        }
        let delivery = DeliveryState(
            status: DeliveryStatus(rawValue: try row.required("delivery_status", row.text)) ?? .none,
            attempts: try row.required("delivery_attempts", row.integer),
            lastStatusCode: try row.integer("delivery_last_status"),
            lastError: try row.text("delivery_last_error"))
        let cost = try Cost(row: row)
        let servedBy = try row.text("served_by").flatMap(ServedBy.init(rawValue:))
        self.init(
            id: try row.required("id", row.text),
            owner: try row.required("owner", row.text),
            endpoint: try row.required("endpoint", row.text),
            model: try row.required("model", row.text),
            upstream: try row.text("upstream") ?? Upstream.defaultName,
            status: DeferredStatus(rawValue: try row.required("status", row.text)) ?? .queued,
            createdAt: try row.required("created_at", row.real),
            submittedAt: try row.real("submitted_at"),
            completedAt: try row.real("completed_at"),
            attempts: try row.required("attempts", row.integer),
            batchID: try row.text("batch_id"),
            upstreamBatchID: try row.text("upstream_batch_id"),
            callbackURL: try row.text("callback_url"),
            idempotencyKey: try row.text("idempotency_key"),
            bodyDigest: try row.required("body_digest", row.text),
            bodyBytes: try row.required("body_bytes", row.integer),
            response: response, error: error, usage: usage, cost: cost, delivery: delivery,
            policy: try row.text("policy"), servedBy: servedBy, servedReason: try row.text("served_reason"),
            purgedAt: try row.real("purged_at"))
    }
}

extension BatchRecord {
    public init(row: some StoredRow) throws {
        self.init(
            id: try row.required("id", row.text),
            upstream: try row.text("upstream") ?? Upstream.defaultName,
            endpoint: try row.required("endpoint", row.text),
            model: try row.required("model", row.text),
            state: BatchState(rawValue: try row.required("state", row.text)) ?? .ended,
            requestCount: try row.required("request_count", row.integer),
            fileBytes: try row.required("file_bytes", row.integer),
            createdAt: try row.required("created_at", row.real),
            inputFileID: try row.text("input_file_id"),
            upstreamID: try row.text("upstream_id"),
            upstreamStatus: try row.text("upstream_status").map(UpstreamBatchStatus.init),
            nextPollAt: try row.real("next_poll_at"),
            endedAt: try row.real("ended_at"),
            submittedAt: try row.real("submitted_at"),
            outputFileID: try row.text("output_file_id"),
            errorFileID: try row.text("error_file_id"),
            counts: try row.integer("counts_total").map {
                BatchCounts(total: $0, completed: try row.integer("counts_completed") ?? 0, failed: try row.integer("counts_failed") ?? 0)
            },
            cancelled: try row.integer("cancel_requeue").map { OperatorCancel(requeue: $0 != 0) }
        )
    }
}

/// The columns of `request_attempts` a trace is read with.
public enum AttemptColumns {
    public static let select = "batch_id, upstream_batch_id, line, outcome, error_code, error_message, at"
}

extension Attempt {
    public init(row: some StoredRow) throws {
        self.init(
            batchID: try row.required("batch_id", row.text), upstreamBatchID: try row.text("upstream_batch_id"),
            line: try row.integer("line"), outcome: AttemptOutcome(rawValue: try row.required("outcome", row.text)) ?? .requeued,
            reason: try row.text("error_code").map { DeferredError(code: $0, message: try row.text("error_message") ?? "") },
            at: try row.real("at"))
    }
}

extension BatchMember {
    /// From `batch_line`, `attempts`, `callback_url`, `served_by`.
    public init(row: some StoredRow) throws {
        self.init(
            line: try row.required("batch_line", row.integer), attempts: try row.required("attempts", row.integer),
            hasCallback: try row.text("callback_url") != nil, servedBy: try row.text("served_by").flatMap(ServedBy.init(rawValue:)))
    }
}

extension Cost {
    /// From the `cost_*` columns; nil when no cost was recorded.
    init?(row: some StoredRow) throws {
        guard let priced = try row.integer("cost_priced"), let lane = try row.text("cost_lane").flatMap(Lane.init(rawValue:)) else {
            return nil
        }
        self.init(
            currency: try row.text("cost_currency") ?? "", lane: lane, priced: priced != 0,
            billed: try row.integer("cost_billed").map { Money(picos: Int64($0)) },
            atListPrice: try row.integer("cost_list").map { Money(picos: Int64($0)) })
    }
}
