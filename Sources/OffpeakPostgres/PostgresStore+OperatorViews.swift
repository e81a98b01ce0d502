import OffpeakCore
import PostgresNIO

extension PostgresStore {
    public func batch(id: String) async throws -> BatchRecord? {
        try await firstRow("SELECT \(unescaped: batchColumns) FROM batches WHERE id = \(id)") { try BatchRecord($0) }
    }

    public func trace(requestID: String) async throws -> RequestTrace? {
        let found = try await firstRow("SELECT \(unescaped: requestColumns), batch_line FROM deferred_requests WHERE id = \(requestID)") {
            (try DeferredRequest($0), try PostgresStoredRow($0).integer("batch_line"))
        }
        guard let (request, line) = found else { return nil }
        var attempts = try await rows(
            "SELECT \(unescaped: AttemptColumns.select) FROM request_attempts WHERE request_id = \(requestID) ORDER BY seq"
        ) { try Attempt(row: PostgresStoredRow($0)) }
        if let current = Attempt.current(of: request, line: line) { attempts.append(current) }
        return RequestTrace(request: request, attempts: attempts)
    }

    public func stats(from: Timestamp, to: Timestamp) async throws -> [ModelStats] {
        var totalBinds = PostgresBindings()
        totalBinds.append(from)
        totalBinds.append(to)
        let totals: [(model: String, requests: Int, completed: Int, average: Double?)] = try await rows(
            PostgresQuery(unsafeSQL: StatsSQL.totals { "$\($0)" }, binds: totalBinds)
        ) { try $0.decode((String, Int, Int, Double?).self) }
        let waiting: [(model: String, queued: Int, submitted: Int)] = try await rows(PostgresQuery(unsafeSQL: StatsSQL.waiting)) {
            try $0.decode((String, Int, Int).self)
        }
        return try await StatsSQL.assemble(totals: totals, waiting: waiting) { model, rank in
            var binds = PostgresBindings()
            binds.append(model)
            binds.append(from)
            binds.append(to)
            binds.append(rank)
            return try await firstRow(PostgresQuery(unsafeSQL: StatsSQL.atRank { "$\($0)" }, binds: binds)) { try $0.decode(Double.self) }
        }
    }

    public func listDeliveries(_ query: DeliveryListQuery) async throws -> ListPage {
        let (filter, arguments) = query.sql { "$\($0)" }
        let rows = try await rows(
            PostgresQuery(unsafeSQL: "SELECT \(requestColumns) FROM deferred_requests \(filter)", binds: arguments.postgresBindings)
        ) { try DeferredRequest($0) }
        return ListPage(data: Array(rows.prefix(query.limit)), hasMore: rows.count > query.limit)
    }

    public func listBatches(_ query: BatchListQuery) async throws -> BatchListPage {
        let statement = BatchListSQL(query) { "$\($0)" }
        let rows = try await rows(PostgresQuery(unsafeSQL: statement.sql, binds: statement.arguments.postgresBindings)) {
            try BatchRecord($0)
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
