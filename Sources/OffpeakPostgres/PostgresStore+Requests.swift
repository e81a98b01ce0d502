import Logging
import NIOCore
import OffpeakCore
import PostgresNIO

/// Intake and results: accepts grouped into one INSERT and one commit, reads, cancel, and the
/// real-time fallback's transitions.
extension PostgresStore {
    public func accept(_ new: NewDeferredRequest) async throws -> AcceptResult {
        try await accepts.submit(new)
    }

    /// One group of accepts: one INSERT fed with arrays (`AcceptStatement`), one commit. A request
    /// whose idempotency key is already taken inserts nothing and is answered from the row that holds the key.
    static func accept(
        _ group: [NewDeferredRequest], client: PostgresClient, deadlines: StatementDeadlines, logger: Logger
    ) async -> [Result<AcceptResult, any Error>] {
        let statement = AcceptStatement(group)
        do {
            // A database that is down answers the group in seconds (503 at the front), not at the
            // pool's circuit breaker.
            let inserted = try await GuardedCall.run(client, deadlines) { connection in
                var inserted: Set<String> = []
                for try await id in try await connection.execute(statement, logger: logger) { inserted.insert(id) }
                return inserted
            }
            var results: [Result<AcceptResult, any Error>] = []
            for new in group {
                if inserted.contains(new.record.id) {
                    results.append(.success(.created(new.record)))
                } else {
                    do {
                        results.append(.success(try await existing(for: new, client: client, deadlines: deadlines, logger: logger)))
                    } catch {
                        results.append(.failure(error))
                    }
                }
            }
            return results
        } catch {
            return group.map { _ in .failure(error) }
        }
    }

    /// The request holding `new`'s idempotency key.
    static func existing(
        for new: NewDeferredRequest, client: PostgresClient, deadlines: StatementDeadlines, logger: Logger
    ) async throws -> AcceptResult {
        let record = new.record
        guard let key = record.idempotencyKey else { throw Inconsistent(description: "request \(record.id) was not inserted") }
        let query: PostgresQuery =
            "SELECT \(unescaped: requestColumns) FROM deferred_requests WHERE owner = \(record.owner) AND idempotency_key = \(key)"
        let found = try await GuardedCall.run(client, deadlines) { connection in
            try await connection.query(query, logger: logger).collect().first.map { try DeferredRequest($0) }
        }
        guard let existing = found else { throw Inconsistent(description: "no request holds key \(key)") }
        return existing.bodyDigest == record.bodyDigest ? .existing(existing) : .conflict(existing)
    }

    struct Inconsistent: Error, CustomStringConvertible {
        let description: String
    }

    public func request(id: String, owner: String) async throws -> DeferredRequest? {
        try await requests("SELECT \(unescaped: requestColumns) FROM deferred_requests WHERE id = \(id) AND owner = \(owner)").first
    }

    func requests(_ query: PostgresQuery) async throws -> [DeferredRequest] {
        try await rows(query) { try DeferredRequest($0) }
    }

    public func list(_ query: ListQuery) async throws -> ListPage {
        var binds = PostgresBindings()
        binds.append(query.owner)
        var sql = "SELECT \(requestColumns) FROM deferred_requests WHERE owner = $1"
        if let status = query.status {
            binds.append(status.rawValue)
            sql += " AND status = $\(binds.count)"
        }
        if let model = query.model {
            binds.append(model)
            sql += " AND model = $\(binds.count)"
        }
        if let after = query.after {
            binds.append(after)
            sql += " AND seq < COALESCE((SELECT seq FROM deferred_requests WHERE id = $\(binds.count) AND owner = $1), 0)"
        }
        binds.append(query.limit + 1)
        sql += " ORDER BY seq DESC LIMIT $\(binds.count)"
        let rows = try await requests(PostgresQuery(unsafeSQL: sql, binds: binds))
        return ListPage(data: Array(rows.prefix(query.limit)), hasMore: rows.count > query.limit)
    }

    public func cancel(id: String, owner: String, now: Timestamp) async throws -> CancelResult {
        let changed =
            try await rowCount(
                """
                UPDATE deferred_requests SET status = 'cancelled', completed_at = \(now)
                WHERE id = \(id) AND owner = \(owner) AND status = 'queued' RETURNING seq
                """) > 0
        guard let request = try await request(id: id, owner: owner) else { return .notFound }
        return changed ? .cancelled(request) : .notQueued(request)
    }

    public func withdraw(id: String, now: Timestamp, reason: String) async throws -> Bool {
        try await rowCount(
            """
            UPDATE deferred_requests SET status = 'cancelled', completed_at = \(now), served_by = 'realtime-fallback',
                served_reason = \(reason)
            WHERE id = \(id) AND status = 'queued'
            RETURNING id
            """) > 0
    }

    public func recordRealtimeAnswer(id: String, _ answer: RealtimeAnswer, now: Timestamp) async throws -> Bool {
        let logger = logger
        return try await withTransaction { connection in
            let applied: Bool
            switch answer {
            case .result(let finish):
                let withdrawn = FinishGuard(status: .cancelled, batchID: nil, servedBy: .realtimeFallback)
                applied = try await Self.finish([(id, finish)], expecting: withdrawn, now: now, on: connection, logger: logger)
                    .contains(id)
            case .noted(let finish):
                applied =
                    try await connection.query(
                        """
                        UPDATE deferred_requests SET served_by = 'realtime-fallback', served_reason = \(finish.servedReason)
                        WHERE id = \(id) AND status IN ('queued', 'submitted')
                        RETURNING id
                        """, logger: logger
                    ).collect().count > 0
            }
            // The call was made even if the request did not take its answer: its record is written all the
            // same (when the finish applied, it wrote the record already, and this one is left out).
            var records: [UsageRecord] = []
            for try await (owner, upstream, model, endpoint) in try await connection.query(
                "SELECT owner, upstream, model, endpoint FROM deferred_requests WHERE id = \(id)", logger: logger
            ).decode((String, String, String, String).self) {
                if let record = UsageRecord(
                    requestID: id, owner: owner, upstream: upstream, model: model, endpoint: endpoint, finish: answer.finish, now: now)
                {
                    records.append(record)
                }
            }
            try await Self.insert(records, on: connection, logger: logger)
            return applied
        }
    }
}
