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
    public init(parameter: (String) -> String?) throws(InvalidParameter) {
        var status: DeliveryStatus?
        if let text = parameter("status"), !text.isEmpty {
            guard let known = DeliveryStatus(rawValue: text), known != .none else {
                throw InvalidParameter(parameter: "status", message: "Unknown delivery status '\(text)'; use pending, delivered or failed.")
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
