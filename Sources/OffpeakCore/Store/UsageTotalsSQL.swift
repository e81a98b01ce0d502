/// The report's statement, the same in both SQL stores: the period's pieces (`UsageQuery.segments`)
/// read from `usage_days`, `usage_hours` and `usage_records`, each projected to the same columns,
/// then summed per group and currency. Money is summed as whole micro-units and leftover
/// pico-units, so that no sum overflows.
public struct UsageTotalsSQL: Sendable {
    public let sql: String
    /// In the order of the placeholders.
    public let arguments: [StoredValue]

    /// The money and count columns of a part, summed by the outer statement.
    public static let sums = [
        "requests", "completed", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "billed_micros",
        "billed_rest", "list_micros", "list_rest", "unpriced",
    ]

    /// What one record of `usage_records` adds to each of `sums`, its columns read through
    /// `prefix`: the one rule the totals and the report both follow.
    static func contributions(prefix: String = "") -> [String] {
        let money = { (column: String) in
            ["COALESCE(\(prefix)\(column), 0) / 1000000", "COALESCE(\(prefix)\(column), 0) % 1000000"]
        }
        return ["1", "\(prefix)completed"]
            + ["prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens"].map { "COALESCE(\(prefix)\($0), 0)" }
            + money("billed_picos") + money("list_picos") + ["1 - \(prefix)priced"]
    }

    /// A table of totals: `column` numbers its buckets of `seconds`.
    public struct Bucket: Sendable {
        public let table: String
        public let column: String
        public let seconds: Int
    }

    /// The buckets the totals are kept in: `usage_hours` by hour, `usage_days` by day.
    public static let buckets = [
        Bucket(table: "usage_hours", column: "hour", seconds: 3_600), Bucket(table: "usage_days", column: "day", seconds: 86_400),
    ]

    /// Adds the records of `source` (a table with `usage_records`' columns, and a condition) to
    /// the totals of `bucket`, in key order (so that writers holding rows of it never wait on each
    /// other in a cycle).
    public static func rollUp(into bucket: Bucket, from source: String) -> String {
        let (table, seconds) = (bucket.table, bucket.seconds)
        let bucket = bucket.column
        return """
        INSERT INTO \(table) (\(bucket), owner, upstream, model, lane, currency, \(sums.joined(separator: ", ")))
        SELECT ended_at / \(seconds), owner, upstream, model, lane, currency,
            \(contributions().map { "SUM(\($0))" }.joined(separator: ", "))
        FROM \(source) GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (\(bucket), owner, upstream, model, lane, currency) DO UPDATE SET
            \(sums.map { "\($0) = \(table).\($0) + excluded.\($0)" }.joined(separator: ", "))
        """
    }

    /// The columns of `usage_records` after its key (`UsageColumns.stored`, typed), the same in
    /// both SQL stores (`BIGINT` has integer affinity in SQLite).
    public static let recordColumns = """
        request_id TEXT NOT NULL, lane TEXT NOT NULL, owner TEXT NOT NULL, upstream TEXT NOT NULL, model TEXT NOT NULL,
        endpoint TEXT NOT NULL, ended_at BIGINT NOT NULL, completed BIGINT NOT NULL, prompt_tokens BIGINT,
        completion_tokens BIGINT, cached_tokens BIGINT, reasoning_tokens BIGINT, currency TEXT NOT NULL,
        priced BIGINT NOT NULL, billed_picos BIGINT, list_picos BIGINT, UNIQUE (request_id, lane)
        """

    /// The columns of `usage_hours` and `usage_days` after their bucket.
    public static let totalsColumns = """
        owner TEXT NOT NULL, upstream TEXT NOT NULL, model TEXT NOT NULL, lane TEXT NOT NULL, currency TEXT NOT NULL,
        \(sums.map { "\($0) BIGINT NOT NULL" }.joined(separator: ", "))
        """

    /// `placeholder(n)` is the n-th parameter marker (1-based) of the backend: `?` or `$n`.
    public init(_ query: UsageQuery, placeholder: (Int) -> String) {
        var arguments: [StoredValue] = []
        func bind(_ value: StoredValue) -> String {
            arguments.append(value)
            return placeholder(arguments.count)
        }
        let segments = query.segments
        let totals = "owner, upstream, model, lane, currency, \(Self.sums.joined(separator: ", "))"
        var parts: [String] = []
        func part(_ select: String, from table: String, column: String, range: Range<Int64>) {
            var part = "SELECT \(select) FROM \(table) WHERE \(column) >= \(bind(.integer(Int(range.lowerBound))))"
            part += " AND \(column) < \(bind(.integer(Int(range.upperBound))))"
            if let owner = query.owner { part += " AND owner = \(bind(.text(owner)))" }
            parts.append(part)
        }
        if let days = segments.days {
            part("day, \(totals)", from: "usage_days", column: "day", range: days)
        }
        for hours in segments.hours {
            part("hour / 24 AS day, \(totals)", from: "usage_hours", column: "hour", range: hours)
        }
        let contributions = zip(Self.contributions(), Self.sums).map { "\($0) AS \($1)" }
        let records = "ended_at / 86400 AS day, owner, upstream, model, lane, currency, \(contributions.joined(separator: ", "))"
        for seconds in segments.seconds {
            part(records, from: "usage_records", column: "ended_at", range: seconds)
        }
        if parts.isEmpty {
            // An empty period: no rows, with the same columns.
            part(records, from: "usage_records", column: "ended_at", range: 0..<0)
        }
        let groups = query.groupBy.map(Self.column) + ["currency"]
        let sums = Self.sums.map { "CAST(SUM(\($0)) AS BIGINT) AS \($0)" }
        sql = """
            SELECT \((groups + sums).joined(separator: ", "))
            FROM (\(parts.joined(separator: " UNION ALL "))) AS parts
            GROUP BY \(groups.joined(separator: ", "))
            """
        self.arguments = arguments
    }

    static func column(_ dimension: UsageDimension) -> String {
        switch dimension {
        case .model: "model"
        case .lane: "lane"
        case .day: "day"
        case .upstream: "upstream"
        case .key: "owner"
        }
    }
}

extension UsageTally {
    /// A row of `UsageTotalsSQL`'s statement, grouped by `dimensions`.
    public init(row: some StoredRow, groupedBy dimensions: [UsageDimension]) throws {
        var group = UsageGroup()
        for dimension in dimensions {
            let column = UsageTotalsSQL.column(dimension)
            switch dimension {
            case .model: group.model = try row.text(column)
            case .lane: group.lane = try row.text(column)
            case .day: group.day = try row.integer(column).map(Int64.init)
            case .upstream: group.upstream = try row.text(column)
            case .key: group.owner = try row.text(column)
            }
        }
        self.init(group: group, currency: try row.text("currency") ?? "")
        func count(_ column: String) throws -> Int { try row.integer(column) ?? 0 }
        requests = try count("requests")
        completed = try count("completed")
        promptTokens = try count("prompt_tokens")
        completionTokens = try count("completion_tokens")
        cachedTokens = try count("cached_tokens")
        reasoningTokens = try count("reasoning_tokens")
        billed = Self.amount(micros: Int64(try count("billed_micros")), picos: Int64(try count("billed_rest")))
        atListPrice = Self.amount(micros: Int64(try count("list_micros")), picos: Int64(try count("list_rest")))
        unpriced = try count("unpriced")
    }
}
