import OffpeakCore

/// The usage ledger's tables: the records, and their hourly and daily totals, which a statement
/// trigger keeps in step with every insert of records (in the same transaction). The totals of
/// one insert are written in key order, hours before days, so that gateways writing at once
/// never wait on each other in a cycle.
enum PostgresUsageSchema {
    static let totals = """
        owner TEXT NOT NULL, upstream TEXT NOT NULL, model TEXT NOT NULL, lane TEXT NOT NULL, currency TEXT NOT NULL,
        requests BIGINT NOT NULL, completed BIGINT NOT NULL, prompt_tokens BIGINT NOT NULL,
        completion_tokens BIGINT NOT NULL, cached_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL,
        billed_micros BIGINT NOT NULL, billed_rest BIGINT NOT NULL, list_micros BIGINT NOT NULL,
        list_rest BIGINT NOT NULL, unpriced BIGINT NOT NULL
        """

    /// Adds the inserted records (`added`) to the totals of their `bucket` (`hour` or `day`).
    static func rollUp(into table: String, bucket: String, seconds: Int) -> String {
        let sums = UsageTotalsSQL.sums
        return """
            INSERT INTO \(table) (\(bucket), owner, upstream, model, lane, currency, \(sums.joined(separator: ", ")))
            SELECT ended_at / \(seconds), owner, upstream, model, lane, currency, COUNT(*), SUM(completed),
                SUM(COALESCE(prompt_tokens, 0)), SUM(COALESCE(completion_tokens, 0)), SUM(COALESCE(cached_tokens, 0)),
                SUM(COALESCE(reasoning_tokens, 0)), SUM(COALESCE(billed_picos, 0) / 1000000),
                SUM(COALESCE(billed_picos, 0) % 1000000), SUM(COALESCE(list_picos, 0) / 1000000),
                SUM(COALESCE(list_picos, 0) % 1000000), SUM(1 - priced)
            FROM added GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
            ON CONFLICT (\(bucket), owner, upstream, model, lane, currency) DO UPDATE SET
                \(sums.map { "\($0) = \(table).\($0) + excluded.\($0)" }.joined(separator: ", "));
            """
    }

    static let create = [
        """
        CREATE TABLE usage_records (
            seq BIGSERIAL PRIMARY KEY,
            request_id TEXT NOT NULL,
            lane TEXT NOT NULL,
            owner TEXT NOT NULL,
            upstream TEXT NOT NULL,
            model TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            ended_at BIGINT NOT NULL,
            completed BIGINT NOT NULL,
            prompt_tokens BIGINT,
            completion_tokens BIGINT,
            cached_tokens BIGINT,
            reasoning_tokens BIGINT,
            currency TEXT NOT NULL,
            priced BIGINT NOT NULL,
            billed_picos BIGINT,
            list_picos BIGINT,
            UNIQUE (request_id, lane)
        )
        """,
        "CREATE INDEX usage_records_by_end ON usage_records(ended_at)",
        "CREATE TABLE usage_hours (hour BIGINT NOT NULL, \(totals), PRIMARY KEY (hour, owner, upstream, model, lane, currency))",
        "CREATE TABLE usage_days (day BIGINT NOT NULL, \(totals), PRIMARY KEY (day, owner, upstream, model, lane, currency))",
        """
        CREATE FUNCTION offpeak_usage_roll_up() RETURNS trigger LANGUAGE plpgsql AS $roll_up$
        BEGIN
            \(rollUp(into: "usage_hours", bucket: "hour", seconds: 3_600))
            \(rollUp(into: "usage_days", bucket: "day", seconds: 86_400))
            RETURN NULL;
        END
        $roll_up$
        """,
        """
        CREATE TRIGGER usage_records_roll_up AFTER INSERT ON usage_records REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION offpeak_usage_roll_up()
        """,
    ]
}
