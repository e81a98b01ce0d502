import Foundation

/// A page of batches: by `status` (the batch object's), `model`, and `q` (the Offpeak id, the
/// upstream id, or part of the name), after the batch `after`.
public struct BatchListQuery: Sendable, Equatable {
    public static let statuses: Set<String> = [
        "preparing", "validating", "in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled",
    ]

    public var status: String?
    /// Only batches not yet ended (preparing or live): the console's overview.
    public var open: Bool
    public var model: String?
    public var q: String?
    public var limit: Int
    public var after: String?

    public init(
        status: String? = nil, open: Bool = false, model: String? = nil, q: String? = nil, limit: Int = 20, after: String? = nil
    ) {
        self.status = status
        self.open = open
        self.model = model
        self.q = q
        self.limit = limit
        self.after = after
    }

    /// From query parameters; a bad one is refused by name.
    public init(parameter: (String) -> String?) throws(InvalidParameter) {
        let status = parameter("status").flatMap { $0.isEmpty ? nil : $0 }
        if let status, !Self.statuses.contains(status) {
            throw InvalidParameter(
                parameter: "status", message: "Unknown status '\(status)'; use one of \(Self.statuses.sorted().joined(separator: ", ")).")
        }
        self.init(
            status: status, model: parameter("model").flatMap { $0.isEmpty ? nil : $0 }, q: parameter("q").flatMap { $0.isEmpty ? nil : $0 },
            limit: try Self.limit(parameter), after: parameter("after").flatMap { $0.isEmpty ? nil : $0 })
    }

    /// `limit`: 1 to 100, 20 when absent.
    static func limit(_ parameter: (String) -> String?) throws(InvalidParameter) -> Int {
        guard let text = parameter("limit") else { return 20 }
        guard let value = Int(text), (1...100).contains(value) else {
            throw InvalidParameter(parameter: "limit", message: "'limit' must be an integer from 1 to 100; got '\(text)'.")
        }
        return value
    }

    /// Whether `batch` is one this query asks for (ignoring `after` and `limit`): the in-memory
    /// twin of `BatchListSQL`.
    public func matches(_ batch: BatchRecord) -> Bool {
        guard status.map({ $0 == batch.status }) ?? true, model.map({ $0 == batch.model }) ?? true else { return false }
        guard !open || batch.state == .preparing || batch.state == .live else { return false }
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
        if query.open { conditions.append("state IN ('preparing', 'live')") }
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
