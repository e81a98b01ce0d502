import Foundation

/// What a usage report can be grouped by. `key` only on the operator API.
public enum UsageDimension: String, Sendable, CaseIterable {
    case model, lane, day, upstream, key
}

/// A usage report's question: the calls that ended in `from ..< to` (unix seconds; a period split
/// at any second adds up to the whole), grouped by `groupBy`, for one client key or for all.
public struct UsageQuery: Sendable, Equatable {
    public static let defaultPeriod: Int64 = 30 * 86_400
    /// The last second of the year 9999: later times are refused, never computed with.
    public static let latest: Int64 = 253_402_300_799

    public var from: Int64
    public var to: Int64
    public var groupBy: [UsageDimension]
    /// The client key's hash whose traffic is reported; nil for every key (the operator's report).
    public var owner: String?

    public init(from: Int64, to: Int64, groupBy: [UsageDimension] = [], owner: String? = nil) {
        self.from = from
        self.to = to
        self.groupBy = groupBy
        self.owner = owner
    }

    /// From the query parameters `from`, `to` and `group_by` (`to` defaults to the end of the
    /// current second, so that what ended just now is counted; `from` to 30 days before `to`).
    /// `key` is a dimension and a parameter only where `allowsKey`.
    public init(parameter: (String) -> String?, owner: String?, now: Int64, allowsKey: Bool) throws(InvalidParameter) {
        if !allowsKey, parameter("key") != nil {
            throw InvalidParameter(parameter: "key", message: "'key' is not a parameter of the client API: a client key sees only its own usage.")
        }
        let (from, to) = try Self.period(parameter: parameter, now: now)
        var groupBy: [UsageDimension] = []
        let fields = parameter("group_by").map { $0.split(separator: ",", omittingEmptySubsequences: false) } ?? []
        for field in fields where !(fields.count == 1 && field.isEmpty) {
            let name = field.trimmingCharacters(in: .whitespaces)
            guard let dimension = UsageDimension(rawValue: name), dimension != .key || allowsKey else {
                let known = UsageDimension.allCases.filter { $0 != .key || allowsKey }.map(\.rawValue).joined(separator: ", ")
                throw InvalidParameter(parameter: "group_by", message: "Unknown group_by field '\(name)'; use a comma list of \(known).")
            }
            if !groupBy.contains(dimension) { groupBy.append(dimension) }
        }
        self.init(from: from, to: to, groupBy: groupBy, owner: owner)
    }

    /// `from` and `to` (unix seconds, `from ..< to`): `to` defaults to the end of the current second,
    /// `from` to 30 days before `to`.
    public static func period(parameter: (String) -> String?, now: Int64) throws(InvalidParameter) -> (from: Int64, to: Int64) {
        func seconds(_ name: String) throws(InvalidParameter) -> Int64? {
            guard let text = parameter(name) else { return nil }
            guard let value = Int64(text), (0...latest).contains(value) else {
                throw InvalidParameter(
                    parameter: name, message: "'\(name)' must be a unix time in seconds, from 0 to \(latest); got '\(text)'.")
            }
            return value
        }
        let to = try seconds("to") ?? now + 1
        let from = try seconds("from") ?? max(0, to - defaultPeriod)
        guard from <= to else {
            throw InvalidParameter(parameter: "from", message: "'from' (\(from)) must not be after 'to' (\(to)).")
        }
        return (from, to)
    }

    /// The period in the pieces a store reads it from: whole UTC days from the daily totals, whole
    /// hours from the hourly totals, and the seconds at either end from the records themselves.
    /// Together they cover `from ..< to` exactly once.
    public var segments: UsageSegments {
        let (days, dayEdges) = Self.split(from..<to, unit: 86_400)
        var hours: [Range<Int64>] = []
        var seconds: [Range<Int64>] = []
        for edge in dayEdges {
            let (whole, edges) = Self.split(edge, unit: 3_600)
            if let whole { hours.append(whole) }
            seconds += edges
        }
        return UsageSegments(days: days, hours: hours, seconds: seconds)
    }

    /// The whole `unit`s inside `range` (in units), and what is left at either end (in seconds).
    static func split(_ range: Range<Int64>, unit: Int64) -> (whole: Range<Int64>?, edges: [Range<Int64>]) {
        let first = (range.lowerBound + unit - 1) / unit
        let last = range.upperBound / unit
        guard first < last else { return (nil, range.isEmpty ? [] : [range]) }
        let edges = [range.lowerBound..<first * unit, last * unit..<range.upperBound].filter { !$0.isEmpty }
        return (first..<last, edges)
    }
}

/// See `UsageQuery.segments`: ranges of day numbers, of hour numbers and of seconds since 1970.
public struct UsageSegments: Sendable, Equatable {
    public var days: Range<Int64>?
    public var hours: [Range<Int64>]
    public var seconds: [Range<Int64>]
}

/// A query parameter an operation cannot be asked with (the usage report, the operator's lists);
/// `parameter` names it.
public struct InvalidParameter: Error, Sendable, Equatable {
    public let parameter: String
    public let message: String
}
