import Foundation

/// What the operator looks up (`/admin/v1`): batches, one by id or a page of them newest first,
/// and any client's request with its trace across attempts.
public protocol OperatorViews: Sendable {
    func batch(id: String) async throws -> BatchRecord?
    func listBatches(_ query: BatchListQuery) async throws -> BatchListPage
    /// Any client's request, with every batch it was placed in.
    func trace(requestID: String) async throws -> RequestTrace?
    /// Per model: the deferred requests that ended in `from ..< to`, and what waits now.
    func stats(from: Timestamp, to: Timestamp) async throws -> [ModelStats]
    /// Requests with a callback, newest first, by the state of its delivery: any client's.
    func listDeliveries(_ query: DeliveryListQuery) async throws -> ListPage
}

/// A page of callbacks (`GET /admin/v1/deliveries?status=&limit=&after=`).
public struct DeliveryListQuery: Sendable, Equatable {
    public var status: DeliveryStatus?
    public var limit: Int
    public var after: String?

    public init(status: DeliveryStatus? = nil, limit: Int = 20, after: String? = nil) {
        self.status = status
        self.limit = limit
        self.after = after
    }

    /// From query parameters; a bad one is refused by name.
    public init(parameter: (String) -> String?) throws(UsageQuery.Invalid) {
        var status: DeliveryStatus?
        if let text = parameter("status"), !text.isEmpty {
            guard let known = DeliveryStatus(rawValue: text), known != .none else {
                throw UsageQuery.Invalid(parameter: "status", message: "Unknown delivery status '\(text)'; use pending, delivered or failed.")
            }
            status = known
        }
        self.init(status: status, limit: try BatchListQuery.limit(parameter), after: parameter("after").flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The statement, the same in both SQL stores (newest first, one more than the limit).
    public func sql(placeholder: (Int) -> String) -> (sql: String, arguments: [StoredValue]) {
        var arguments: [StoredValue] = []
        func bind(_ value: StoredValue) -> String {
            arguments.append(value)
            return placeholder(arguments.count)
        }
        var conditions = ["callback_url IS NOT NULL"]
        if let status { conditions.append("delivery_status = \(bind(.text(status.rawValue)))") }
        if let after { conditions.append("seq < COALESCE((SELECT seq FROM deferred_requests WHERE id = \(bind(.text(after)))), 0)") }
        return ("WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq DESC LIMIT \(bind(.integer(limit + 1)))", arguments)
    }
}

/// A page of batches: by `status` (the batch object's), `model`, and `q` (the Offpeak id, the
/// upstream id, or part of the name), after the batch `after`.
public struct BatchListQuery: Sendable, Equatable {
    public static let statuses: Set<String> = [
        "preparing", "validating", "in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled",
    ]

    public var status: String?
    public var model: String?
    public var q: String?
    public var limit: Int
    public var after: String?

    public init(status: String? = nil, model: String? = nil, q: String? = nil, limit: Int = 20, after: String? = nil) {
        self.status = status
        self.model = model
        self.q = q
        self.limit = limit
        self.after = after
    }

    /// From query parameters; a bad one is refused by name.
    public init(parameter: (String) -> String?) throws(UsageQuery.Invalid) {
        let status = parameter("status").flatMap { $0.isEmpty ? nil : $0 }
        if let status, !Self.statuses.contains(status) {
            throw UsageQuery.Invalid(
                parameter: "status", message: "Unknown status '\(status)'; use one of \(Self.statuses.sorted().joined(separator: ", ")).")
        }
        self.init(
            status: status, model: parameter("model").flatMap { $0.isEmpty ? nil : $0 }, q: parameter("q").flatMap { $0.isEmpty ? nil : $0 },
            limit: try Self.limit(parameter), after: parameter("after").flatMap { $0.isEmpty ? nil : $0 })
    }

    /// `limit`: 1 to 100, 20 when absent.
    static func limit(_ parameter: (String) -> String?) throws(UsageQuery.Invalid) -> Int {
        guard let text = parameter("limit") else { return 20 }
        guard let value = Int(text), (1...100).contains(value) else {
            throw UsageQuery.Invalid(parameter: "limit", message: "'limit' must be an integer from 1 to 100; got '\(text)'.")
        }
        return value
    }

    /// Whether `batch` is one this query asks for (ignoring `after` and `limit`): the in-memory
    /// twin of `BatchListSQL`.
    public func matches(_ batch: BatchRecord) -> Bool {
        guard status.map({ $0 == batch.status }) ?? true, model.map({ $0 == batch.model }) ?? true else { return false }
        guard let q else { return true }
        return batch.id == q || batch.upstreamID == q || batch.name.lowercased().contains(q.lowercased())
    }
}

public struct BatchListPage: Sendable {
    public var data: [BatchRecord]
    public var hasMore: Bool

    public init(data: [BatchRecord], hasMore: Bool) {
        self.data = data
        self.hasMore = hasMore
    }
}

/// The list's statement, the same in both SQL stores: newest first, one more row than the limit
/// (to know whether there are more).
public struct BatchListSQL: Sendable {
    public let sql: String
    public let arguments: [StoredValue]

    public init(_ query: BatchListQuery, placeholder: (Int) -> String) {
        var arguments: [StoredValue] = []
        func bind(_ value: StoredValue) -> String {
            arguments.append(value)
            return placeholder(arguments.count)
        }
        var conditions: [String] = []
        if let status = query.status { conditions.append("\(BatchColumns.status) = \(bind(.text(status)))") }
        if let model = query.model { conditions.append("model = \(bind(.text(model)))") }
        if let q = query.q {
            let pattern = "%" + q.lowercased().replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"
            conditions.append(
                "(id = \(bind(.text(q))) OR upstream_id = \(bind(.text(q))) OR LOWER\(BatchColumns.name) LIKE \(bind(.text(pattern))) ESCAPE '\\')")
        }
        if let after = query.after {
            conditions.append("(created_at, id) < (SELECT created_at, id FROM batches WHERE id = \(bind(.text(after))))")
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        sql = "SELECT \(BatchColumns.select) FROM batches \(filter) ORDER BY created_at DESC, id DESC LIMIT \(bind(.integer(query.limit + 1)))"
        self.arguments = arguments
    }
}
