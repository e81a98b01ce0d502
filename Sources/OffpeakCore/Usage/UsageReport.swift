import Foundation

/// The values a report row is grouped by; a dimension not asked for is nil.
public struct UsageGroup: Sendable, Hashable {
    public var model: String?
    public var lane: String?
    /// Days since 1970-01-01 (UTC).
    public var day: Int64?
    public var upstream: String?
    /// The client key's hash.
    public var owner: String?

    public init(model: String? = nil, lane: String? = nil, day: Int64? = nil, upstream: String? = nil, owner: String? = nil) {
        self.model = model
        self.lane = lane
        self.day = day
        self.upstream = upstream
        self.owner = owner
    }
}

/// Sums over usage records of one group and one currency, as a store computes them. Money comes
/// as exact decimals (a store sums whole micro-units and the pico-units left over apart, so that
/// no sum overflows).
public struct UsageTally: Sendable, Equatable {
    public var group: UsageGroup
    public var currency: String
    public var requests = 0
    public var completed = 0
    public var promptTokens = 0
    public var completionTokens = 0
    public var cachedTokens = 0
    public var reasoningTokens = 0
    public var billed: Decimal = 0
    public var atListPrice: Decimal = 0
    public var unpriced = 0

    public init(group: UsageGroup, currency: String) {
        self.group = group
        self.currency = currency
    }

    /// `micros` micro-units and `picos` pico-units as one exact amount.
    public static func amount(micros: Int64, picos: Int64) -> Decimal {
        Decimal(micros) / 1_000_000 + Decimal(picos) / 1_000_000_000_000
    }

    mutating func add(_ other: UsageTally) {
        requests += other.requests
        completed += other.completed
        promptTokens += other.promptTokens
        completionTokens += other.completionTokens
        cachedTokens += other.cachedTokens
        reasoningTokens += other.reasoningTokens
        billed += other.billed
        atListPrice += other.atListPrice
        unpriced += other.unpriced
    }

    /// The group of `record` under `query`.
    static func group(of record: UsageRecord, by dimensions: [UsageDimension]) -> UsageGroup {
        var group = UsageGroup()
        for dimension in dimensions {
            switch dimension {
            case .model: group.model = record.model
            case .lane: group.lane = record.lane.rawValue
            case .day: group.day = record.endedAt / 86_400
            case .upstream: group.upstream = record.upstream
            case .key: group.owner = record.owner
            }
        }
        return group
    }

    /// The tallies of `records` under `query`, computed directly (what the SQL stores compute from
    /// their totals): the in-memory store's report, and the reference the conformance suite checks
    /// the stores against.
    public static func tallies(of records: some Sequence<UsageRecord>, for query: UsageQuery) -> [UsageTally] {
        var tallies: [String: [UsageGroup: UsageTally]] = [:]
        for record in records where (query.from..<query.to).contains(record.endedAt) {
            if let owner = query.owner, record.owner != owner { continue }
            let currency = record.cost?.currency ?? ""
            let group = group(of: record, by: query.groupBy)
            var tally = tallies[currency]?[group] ?? UsageTally(group: group, currency: currency)
            tally.requests += 1
            if record.completed { tally.completed += 1 }
            if let usage = record.usage {
                tally.promptTokens += usage.promptTokens
                tally.completionTokens += usage.completionTokens
                tally.cachedTokens += usage.cachedTokens
                tally.reasoningTokens += usage.reasoningTokens
            }
            if record.cost?.priced == true {
                tally.billed += record.cost?.billed?.amount ?? 0
                tally.atListPrice += record.cost?.atListPrice?.amount ?? 0
            } else {
                tally.unpriced += 1
            }
            tallies[currency, default: [:]][group] = tally
        }
        return tallies.values.flatMap(\.values)
    }
}

/// The report of `GET /v1/usage`: one row per group, and the totals. Calls
/// priced in another currency than the report's (the table's currency changed) are counted as
/// unpriced here: their money cannot be added to this currency's.
public struct UsageReport: Sendable, Equatable {
    public var query: UsageQuery
    public var currency: String
    public var rows: [UsageTally]
    public var totals: UsageTally

    public init(query: UsageQuery, currency: String, tallies: [UsageTally]) {
        self.query = query
        self.currency = currency
        var merged: [UsageGroup: UsageTally] = [:]
        for var tally in tallies {
            if tally.currency != currency {
                tally.unpriced = tally.requests
                tally.billed = 0
                tally.atListPrice = 0
            }
            tally.currency = currency
            merged[tally.group, default: UsageTally(group: tally.group, currency: currency)].add(tally)
        }
        rows = merged.values.sorted {
            Self.sortKey($0.group, query.groupBy).lexicographicallyPrecedes(Self.sortKey($1.group, query.groupBy))
        }
        totals = UsageTally(group: UsageGroup(), currency: currency)
        for row in rows { totals.add(row) }
    }

    /// Rows by day first, then by the other dimensions in the order asked.
    private static func sortKey(_ group: UsageGroup, _ dimensions: [UsageDimension]) -> [String] {
        let ordered = dimensions.contains(.day) ? [.day] + dimensions.filter { $0 != .day } : dimensions
        return ordered.map { dimension in
            switch dimension {
            case .model: group.model ?? ""
            case .lane: group.lane ?? ""
            case .day: String(format: "%012lld", group.day ?? 0)
            case .upstream: group.upstream ?? ""
            case .key: group.owner ?? ""
            }
        }
    }

    /// A key's label in reports: `key_` and the first 12 hex digits of its SHA-256 (the owner is
    /// that hash already).
    public static func keyLabel(owner: String) -> String {
        "key_" + owner.prefix(12)
    }

    /// `2026-11-30` for the day number of that date.
    public static func dayText(_ day: Int64) -> String {
        let date = Date(timeIntervalSince1970: TimeInterval(day * 86_400))
        let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    }

    public func jsonObject() -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 256 + rows.count * 320)
        writer.beginObject()
        writer.field("object", "usage_report")
        writer.field("currency", currency)
        writer.field("from", Int(query.from))
        writer.field("to", Int(query.to))
        writer.key("data")
        writer.beginArray()
        for row in rows { write(row, to: &writer, grouped: true) }
        writer.endArray()
        writer.key("totals")
        write(totals, to: &writer, grouped: false)
        writer.endObject()
        return writer.bytes
    }

    private func write(_ tally: UsageTally, to writer: inout JSONWriter, grouped: Bool) {
        writer.beginObject()
        if grouped {
            for dimension in query.groupBy {
                switch dimension {
                case .model: writer.field("model", tally.group.model)
                case .lane: writer.field("lane", tally.group.lane)
                case .day: writer.field("day", tally.group.day.map(Self.dayText))
                case .upstream: writer.field("upstream", tally.group.upstream)
                case .key: writer.field("key", tally.group.owner.map(Self.keyLabel))
                }
            }
        }
        writer.field("requests", tally.requests)
        writer.field("completed", tally.completed)
        writer.field("failed", tally.requests - tally.completed)
        writer.field("prompt_tokens", tally.promptTokens)
        writer.field("completion_tokens", tally.completionTokens)
        writer.field("cached_tokens", tally.cachedTokens)
        writer.field("reasoning_tokens", tally.reasoningTokens)
        for (name, amount) in [("billed", tally.billed), ("at_list_price", tally.atListPrice), ("saved", tally.atListPrice - tally.billed)] {
            writer.key(name)
            writer.raw(Array(Money.exactText(amount).utf8))
        }
        writer.field("unpriced_requests", tally.unpriced)
        writer.endObject()
    }
}
