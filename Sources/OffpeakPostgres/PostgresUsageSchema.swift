import OffpeakCore

/// The usage ledger's tables: the records, and their hourly and daily totals, which a statement
/// trigger keeps in step with every insert of records (in the same transaction, from the rows it
/// inserted). The totals of one insert are written in key order, hours before days, so that
/// gateways writing at once never wait on each other in a cycle.
enum PostgresUsageSchema {
    static let create = [
        "CREATE TABLE usage_records (seq BIGSERIAL PRIMARY KEY, \(UsageTotalsSQL.recordColumns))",
        "CREATE INDEX usage_records_by_end ON usage_records(ended_at)",
    ] + UsageTotalsSQL.buckets.map(totals) + [
        """
        CREATE FUNCTION offpeak_usage_roll_up() RETURNS trigger LANGUAGE plpgsql AS $roll_up$
        BEGIN
            \(UsageTotalsSQL.buckets.map { UsageTotalsSQL.rollUp(into: $0, from: "added") + ";" }.joined(separator: "\n"))
            RETURN NULL;
        END
        $roll_up$
        """,
        """
        CREATE TRIGGER usage_records_roll_up AFTER INSERT ON usage_records REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION offpeak_usage_roll_up()
        """,
    ]

    static func totals(_ bucket: UsageTotalsSQL.Bucket) -> String {
        """
        CREATE TABLE \(bucket.table) (\(bucket.column) BIGINT NOT NULL, \(UsageTotalsSQL.totalsColumns),
            PRIMARY KEY (\(bucket.column), owner, upstream, model, lane, currency))
        """
    }
}
