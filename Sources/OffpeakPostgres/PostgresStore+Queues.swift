import OffpeakCore
import PostgresNIO

extension PostgresStore {
    public func pausedGroups() async throws -> Set<GroupKey> {
        Set(
            try await rows("SELECT upstream, endpoint, model FROM paused_groups") { row in
                let (upstream, endpoint, model) = try row.decode((String, String, String).self)
                return GroupKey(upstream: upstream, endpoint: endpoint, model: model)
            })
    }

    public func setPaused(_ groups: [GroupKey], paused: Bool, now: Timestamp) async throws {
        guard !groups.isEmpty else { return }
        let upstreams = groups.map(\.upstream)
        let endpoints = groups.map(\.endpoint)
        let models = groups.map(\.model)
        if paused {
            try await execute(
                """
                INSERT INTO paused_groups (upstream, endpoint, model, paused_at)
                SELECT u, e, m, \(now) FROM unnest(\(upstreams)::TEXT[], \(endpoints)::TEXT[], \(models)::TEXT[]) AS g(u, e, m)
                ON CONFLICT DO NOTHING
                """)
        } else {
            try await execute(
                """
                DELETE FROM paused_groups AS p
                USING unnest(\(upstreams)::TEXT[], \(endpoints)::TEXT[], \(models)::TEXT[]) AS g(u, e, m)
                WHERE p.upstream = g.u AND p.endpoint = g.e AND p.model = g.m
                """)
        }
    }

    public func recordCancel(batchID: String, _ cancel: OperatorCancel?) async throws -> Bool {
        let requeue = cancel.map { $0.requeue ? 1 : 0 }
        return try await rowCount("UPDATE batches SET cancel_requeue = \(requeue) WHERE id = \(batchID) AND state = 'live' RETURNING id") > 0
    }

    public func operatorCancel(batchID: String) async throws -> OperatorCancel? {
        let requeue = try await firstRow("SELECT cancel_requeue FROM batches WHERE id = \(batchID)") { try $0.decode(Int?.self) }
        return requeue?.map { OperatorCancel(requeue: $0 != 0) }
    }
}
