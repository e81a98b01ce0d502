import GRDB
import OffpeakCore

/// The usage ledger's tables, and how records join them: the records, and their hourly and daily
/// totals, which `append` brings up to date in the same transaction from the records it inserted
/// (so a total never counts a record that is not there, nor misses one that is).
enum SQLiteLedger {
    static let create = """
        CREATE TABLE usage_records (seq INTEGER PRIMARY KEY, \(UsageTotalsSQL.recordColumns));
        CREATE INDEX usage_records_by_end ON usage_records(ended_at);
        \(UsageTotalsSQL.buckets.map { bucket in
            """
            CREATE TABLE \(bucket.table) (\(bucket.column) INTEGER NOT NULL, \(UsageTotalsSQL.totalsColumns),
                PRIMARY KEY (\(bucket.column), owner, upstream, model, lane, currency)) WITHOUT ROWID;
            """
        }.joined(separator: "\n"))
        """

    /// Inserts a record unless its request and lane have one already.
    static let insert = """
        INSERT INTO usage_records (\(UsageColumns.stored.names.joined(separator: ", ")))
        VALUES (\(UsageColumns.stored.names.map { _ in "?" }.joined(separator: ", ")))
        ON CONFLICT (request_id, lane) DO NOTHING
        """

    /// Adds `records` (those whose request and lane are not there yet) and their totals. Run it
    /// inside a write transaction: SQLite's one writer makes the rows after the highest `seq` seen
    /// first exactly the ones this call inserted.
    static func append(_ records: [UsageRecord], in db: Database) throws {
        guard !records.isEmpty else { return }
        let before = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM usage_records")) ?? 0
        let insert = try db.cachedStatement(sql: insert)
        var inserted = 0
        for record in records {
            try insert.bind(record.storedValues.lazy.map { $0.databaseValue })
            try insert.execute()
            inserted += db.changesCount
        }
        guard inserted > 0 else { return }
        for bucket in UsageTotalsSQL.buckets {
            try db.cachedStatement(sql: UsageTotalsSQL.rollUp(into: bucket, from: "usage_records WHERE seq > ?"))
                .execute(arguments: [before])
        }
    }
}
