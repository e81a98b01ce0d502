import Logging
import NIOCore
import OffpeakCore
import PostgresNIO

/// The state a request must be in for a finish to apply to it.
struct FinishGuard {
    var status: DeferredStatus
    var batchID: String?
    var servedBy: ServedBy?
}

extension PostgresStore {
    /// Applies `RequestFinish`es in one statement fed with arrays (the columns Core changes, and
    /// the response body kept inline), then writes the usage records of those it ended; returns
    /// the ids whose guard held. Run it inside a transaction.
    static func finish(
        _ rows: [(id: String, finish: RequestFinish)], expecting expected: FinishGuard, now: Timestamp,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Set<String> {
        guard !rows.isEmpty else { return [] }
        var columns = ColumnArrays(RequestColumns.finished)
        var ids: [String] = []
        var hasResponse: [Bool] = []
        var bodies: [ByteBuffer] = []
        for (id, finish) in rows {
            columns.append(finish.storedChanges(now: now))
            ids.append(id)
            hasResponse.append(finish.response != nil)
            bodies.append(ByteBuffer(bytes: finish.response?.body ?? []))
        }
        var binds = PostgresBindings()
        var (arguments, names) = columns.bind(into: &binds, keeps: true)
        binds.append(ids)
        arguments.append("$\(binds.count)::TEXT[]")
        names.append("id")
        binds.append(hasResponse)
        arguments.append("$\(binds.count)::BOOLEAN[]")
        names.append("has_response")
        binds.append(bodies)
        arguments.append("$\(binds.count)::BYTEA[]")
        names.append("body")
        let assignments = RequestColumns.finished.names.map { name in
            "\(name) = CASE WHEN u.\(name)__keep THEN d.\(name) ELSE \(ColumnArrays.value(name, in: "u")) END"
        }
        binds.append(expected.status.rawValue)
        let status = binds.count
        binds.append(expected.batchID ?? "")
        let batch = binds.count
        binds.append(expected.servedBy?.rawValue ?? "")
        let servedBy = binds.count
        let query = PostgresQuery(
            unsafeSQL: """
                UPDATE deferred_requests AS d SET \(assignments.joined(separator: ", ")),
                    response_body = CASE WHEN u.has_response THEN u.body ELSE NULL END
                FROM unnest(\(arguments.joined(separator: ", "))) AS u(\(names.joined(separator: ", ")))
                WHERE d.id = u.id AND d.status = $\(status)
                    AND ($\(batch)::TEXT = '' OR d.batch_id = $\(batch))
                    AND ($\(servedBy)::TEXT = '' OR d.served_by = $\(servedBy))
                RETURNING d.id, d.owner, d.upstream, d.model, d.endpoint
                """, binds: binds)
        let finishes = Dictionary(rows.map { ($0.id, $0.finish) }, uniquingKeysWith: { first, _ in first })
        var finished: Set<String> = []
        var records: [UsageRecord] = []
        for try await (id, owner, upstream, model, endpoint) in try await connection.query(query, logger: logger)
            .decode((String, String, String, String, String).self)
        {
            guard let finish = finishes[id] else { continue }
            finished.insert(id)
            if let record = UsageRecord(
                requestID: id, owner: owner, upstream: upstream, model: model, endpoint: endpoint, finish: finish, now: now)
            {
                records.append(record)
            }
        }
        try await insert(records, on: connection, logger: logger)
        return finished
    }
}
