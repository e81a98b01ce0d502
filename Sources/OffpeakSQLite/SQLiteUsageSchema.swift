import OffpeakCore

/// The usage ledger's tables: the records, and their hourly and daily totals, which a trigger
/// keeps in step with every record inserted (in the same transaction, so a total never counts a
/// record that is not there, nor misses one that is).
enum SQLiteUsageSchema {
    static let totals = """
        owner TEXT NOT NULL, upstream TEXT NOT NULL, model TEXT NOT NULL, lane TEXT NOT NULL, currency TEXT NOT NULL,
        requests INTEGER NOT NULL, completed INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL,
        billed_micros INTEGER NOT NULL, billed_rest INTEGER NOT NULL, list_micros INTEGER NOT NULL,
        list_rest INTEGER NOT NULL, unpriced INTEGER NOT NULL
        """

    /// Adds the new record to the total of its `bucket` (`hour` or `day`).
    static func rollUp(into table: String, bucket: String, seconds: Int) -> String {
        let sums = UsageTotalsSQL.sums
        return """
            INSERT INTO \(table) (\(bucket), owner, upstream, model, lane, currency, \(sums.joined(separator: ", ")))
            VALUES (NEW.ended_at / \(seconds), NEW.owner, NEW.upstream, NEW.model, NEW.lane, NEW.currency, 1, NEW.completed,
                COALESCE(NEW.prompt_tokens, 0), COALESCE(NEW.completion_tokens, 0), COALESCE(NEW.cached_tokens, 0),
                COALESCE(NEW.reasoning_tokens, 0), COALESCE(NEW.billed_picos, 0) / 1000000,
                COALESCE(NEW.billed_picos, 0) % 1000000, COALESCE(NEW.list_picos, 0) / 1000000,
                COALESCE(NEW.list_picos, 0) % 1000000, 1 - NEW.priced)
            ON CONFLICT (\(bucket), owner, upstream, model, lane, currency) DO UPDATE SET
                \(sums.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", "));
            """
    }

    static let create = """
        CREATE TABLE usage_records (
            seq INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL,
            lane TEXT NOT NULL,
            owner TEXT NOT NULL,
            upstream TEXT NOT NULL,
            model TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            ended_at INTEGER NOT NULL,
            completed INTEGER NOT NULL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            cached_tokens INTEGER,
            reasoning_tokens INTEGER,
            currency TEXT NOT NULL,
            priced INTEGER NOT NULL,
            billed_picos INTEGER,
            list_picos INTEGER,
            UNIQUE (request_id, lane)
        );
        CREATE INDEX usage_records_by_end ON usage_records(ended_at);
        CREATE TABLE usage_hours (hour INTEGER NOT NULL, \(totals),
            PRIMARY KEY (hour, owner, upstream, model, lane, currency)) WITHOUT ROWID;
        CREATE TABLE usage_days (day INTEGER NOT NULL, \(totals),
            PRIMARY KEY (day, owner, upstream, model, lane, currency)) WITHOUT ROWID;
        CREATE TRIGGER usage_records_roll_up AFTER INSERT ON usage_records BEGIN
            \(rollUp(into: "usage_hours", bucket: "hour", seconds: 3_600))
            \(rollUp(into: "usage_days", bucket: "day", seconds: 86_400))
        END;
        """

    /// Inserts a record unless its request and lane have one already.
    static let insert = """
        INSERT INTO usage_records (\(UsageColumns.stored.names.joined(separator: ", ")))
        VALUES (\(UsageColumns.stored.names.map { _ in "?" }.joined(separator: ", ")))
        ON CONFLICT (request_id, lane) DO NOTHING
        """
}
