import OffpeakCore
import PostgresNIO

extension PostgresStore {
    public func batch(id: String) async throws -> BatchRecord? {
        for try await row in try await client.query("SELECT \(unescaped: batchColumns) FROM batches WHERE id = \(id)", logger: logger) {
            return try BatchRecord(row)
        }
        return nil
    }

    public func trace(requestID: String) async throws -> RequestTrace? {
        var found: (DeferredRequest, Int?)?
        for try await row in try await client.query(
            "SELECT \(unescaped: requestColumns), batch_line FROM deferred_requests WHERE id = \(requestID)", logger: logger)
        {
            found = (try DeferredRequest(row), try PostgresStoredRow(row).integer("batch_line"))
        }
        guard let (request, line) = found else { return nil }
        var attempts: [Attempt] = []
        for try await row in try await client.query(
            "SELECT \(unescaped: AttemptColumns.select) FROM request_attempts WHERE request_id = \(requestID) ORDER BY seq", logger: logger)
        {
            attempts.append(try Attempt(row: PostgresStoredRow(row)))
        }
        if let current = Attempt.current(of: request, line: line) { attempts.append(current) }
        return RequestTrace(request: request, attempts: attempts)
    }

    public func stats(from: Timestamp, to: Timestamp) async throws -> [ModelStats] {
        var totalBinds = PostgresBindings()
        totalBinds.append(from)
        totalBinds.append(to)
        var totals: [(model: String, requests: Int, completed: Int, average: Double?)] = []
        for try await (model, requests, completed, average) in try await client.query(
            PostgresQuery(unsafeSQL: StatsSQL.totals { "$\($0)" }, binds: totalBinds), logger: logger
        ).decode((String, Int, Int, Double?).self) {
            totals.append((model, requests, completed, average))
        }
        var waiting: [(model: String, queued: Int, submitted: Int)] = []
        for try await (model, queued, submitted) in try await client.query(PostgresQuery(unsafeSQL: StatsSQL.waiting), logger: logger)
            .decode((String, Int, Int).self)
        {
            waiting.append((model, queued, submitted))
        }
        return try await StatsSQL.assemble(totals: totals, waiting: waiting) { model, rank in
            var binds = PostgresBindings()
            binds.append(model)
            binds.append(from)
            binds.append(to)
            binds.append(rank)
            for try await seconds in try await client.query(
                PostgresQuery(unsafeSQL: StatsSQL.atRank { "$\($0)" }, binds: binds), logger: logger
            ).decode(Double.self) {
                return seconds
            }
            return nil
        }
    }

    public func listDeliveries(_ query: DeliveryListQuery) async throws -> ListPage {
        let (filter, arguments) = query.sql { "$\($0)" }
        var rows: [DeferredRequest] = []
        for try await row in try await client.query(
            PostgresQuery(unsafeSQL: "SELECT \(requestColumns) FROM deferred_requests \(filter)", binds: arguments.postgresBindings),
            logger: logger)
        {
            rows.append(try DeferredRequest(row))
        }
        return ListPage(data: Array(rows.prefix(query.limit)), hasMore: rows.count > query.limit)
    }

    public func listBatches(_ query: BatchListQuery) async throws -> BatchListPage {
        let statement = BatchListSQL(query) { "$\($0)" }
        var rows: [BatchRecord] = []
        for try await row in try await client.query(
            PostgresQuery(unsafeSQL: statement.sql, binds: statement.arguments.postgresBindings), logger: logger)
        {
            rows.append(try BatchRecord(row))
        }
        return BatchListPage(data: Array(rows.prefix(query.limit)), hasMore: rows.count > query.limit)
    }
}

extension [StoredValue] {
    /// The values bound in order.
    var postgresBindings: PostgresBindings {
        var binds = PostgresBindings()
        for value in self {
            switch value {
            case .text(let text): binds.append(text)
            case .integer(let number): binds.append(number)
            case .real(let number): binds.append(number)
            }
        }
        return binds
    }
}
