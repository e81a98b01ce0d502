/// The usage ledger: one `UsageRecord` per ended call, and the report over them.
///
/// The records of deferred requests are written by the store itself, in the transaction that
/// ends the request (`settle`, `recordRealtimeAnswer`); `record` is for calls the gateway passed
/// through. A SQL store keeps hourly and daily totals beside the records, maintained by the
/// database as records are inserted, so that a report over a month reads a few thousand rows.
public protocol UsageLedger: Sendable {
    /// Adds records of passthrough calls; a record whose request and lane are already there is
    /// left as it is.
    func record(_ records: [UsageRecord]) async throws
    /// The sums of `query`, one tally per group and currency (`UsageReport` assembles them).
    func usageTallies(_ query: UsageQuery) async throws -> [UsageTally]
}
