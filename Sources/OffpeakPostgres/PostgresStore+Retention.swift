import OffpeakCore
import PostgresNIO

/// Retention: bodies emptied in small statements, so no transaction holds rows long.
extension PostgresStore {
    public func purgeBodies(endedBefore: Timestamp, limit: Int, now: Timestamp) async throws -> Int {
        try await rowCount(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE deferred_requests SET body = ''::bytea, response_body = NULL, purged_at = $3
                    WHERE seq IN (\(PurgeSQL.due { "$\($0)" })) RETURNING seq
                    """,
                binds: [StoredValue.real(endedBefore), .integer(limit), .real(now)].postgresBindings))
    }

    public func purgeBodies(id: String, owner: String, now: Timestamp) async throws -> PurgeResult {
        try await execute(
            """
            UPDATE deferred_requests SET body = ''::bytea, response_body = NULL, purged_at = \(now)
            WHERE id = \(id) AND owner = \(owner) AND purged_at IS NULL AND \(unescaped: PurgeSQL.ended)
            """)
        guard let request = try await request(id: id, owner: owner) else { return .notFound }
        return request.status.isTerminal ? .purged(request) : .notEnded(request)
    }
}
