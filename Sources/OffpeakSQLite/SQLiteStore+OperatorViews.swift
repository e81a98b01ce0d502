import GRDB
import OffpeakCore

extension SQLiteStore {
    public func batch(id: String) async throws -> BatchRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(BatchColumns.select) FROM batches WHERE id = ?", arguments: [id])
                .map(BatchRecord.init(sqlite:))
        }
    }

    public func listBatches(_ query: BatchListQuery) async throws -> BatchListPage {
        let statement = BatchListSQL(query) { _ in "?" }
        let rows = try await pool.read { db in
            try SQLiteRow.all(
                db.makeStatement(sql: statement.sql), arguments: StatementArguments(statement.arguments.map(\.databaseValue)),
                BatchRecord.init(row:))
        }
        return BatchListPage(data: Array(rows.prefix(query.limit)), hasMore: rows.count > query.limit)
    }

    public func trace(requestID: String) async throws -> RequestTrace? {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT \(requestColumns), batch_line FROM deferred_requests WHERE id = ?", arguments: [requestID])
            else { return nil }
            let request = try DeferredRequest(sqlite: row)
            var attempts = try SQLiteRow.all(
                db.cachedStatement(sql: "SELECT \(AttemptColumns.select) FROM request_attempts WHERE request_id = ? ORDER BY seq"),
                arguments: [requestID], Attempt.init(row:))
            if let current = Attempt.current(of: request, line: row["batch_line"]) { attempts.append(current) }
            return RequestTrace(request: request, attempts: attempts)
        }
    }

    public func stats(from: Timestamp, to: Timestamp) async throws -> [ModelStats] {
        let (totals, waiting) = try await pool.read { db in
            let totals = try Row.fetchAll(db, sql: StatsSQL.totals { _ in "?" }, arguments: [from, to]).map { row in
                (model: row["model"] as String, requests: row["requests"] as Int, completed: row["completed"] as Int,
                 average: row["average"] as Double?)
            }
            let waiting = try Row.fetchAll(db, sql: StatsSQL.waiting).map { row in
                (model: row["model"] as String, queued: row["queued"] as Int, submitted: row["submitted"] as Int)
            }
            return (totals, waiting)
        }
        return try await StatsSQL.assemble(totals: totals, waiting: waiting) { model, rank in
            try await pool.read { db in
                try Double.fetchOne(db, sql: StatsSQL.atRank { _ in "?" }, arguments: [model, from, to, rank])
            }
        }
    }

    public func listDeliveries(_ query: DeliveryListQuery) async throws -> ListPage {
        let (filter, arguments) = query.sql { _ in "?" }
        let rows = try await pool.read { db in
            try SQLiteRow.all(
                db.makeStatement(sql: "SELECT \(requestColumns) FROM deferred_requests \(filter)"),
                arguments: StatementArguments(arguments.map(\.databaseValue)), DeferredRequest.init(row:))
        }
        return ListPage(data: Array(rows.prefix(query.limit)), hasMore: rows.count > query.limit)
    }
}
