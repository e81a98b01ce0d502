import OffpeakCore
import PostgresNIO

extension PostgresStore {
    public func pausedGroups() async throws -> Set<GroupKey> {
        var groups: Set<GroupKey> = []
        for try await (upstream, endpoint, model) in try await client.query(
            "SELECT upstream, endpoint, model FROM paused_groups", logger: logger
        ).decode((String, String, String).self) {
            groups.insert(GroupKey(upstream: upstream, endpoint: endpoint, model: model))
        }
        return groups
    }

    public func setPaused(_ groups: [GroupKey], paused: Bool, now: Timestamp) async throws {
        guard !groups.isEmpty else { return }
        let upstreams = groups.map(\.upstream)
        let endpoints = groups.map(\.endpoint)
        let models = groups.map(\.model)
        if paused {
            try await client.query(
                """
                INSERT INTO paused_groups (upstream, endpoint, model, paused_at)
                SELECT u, e, m, \(now) FROM unnest(\(upstreams)::TEXT[], \(endpoints)::TEXT[], \(models)::TEXT[]) AS g(u, e, m)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        } else {
            try await client.query(
                """
                DELETE FROM paused_groups AS p
                USING unnest(\(upstreams)::TEXT[], \(endpoints)::TEXT[], \(models)::TEXT[]) AS g(u, e, m)
                WHERE p.upstream = g.u AND p.endpoint = g.e AND p.model = g.m
                """, logger: logger)
        }
    }

    public func recordCancel(batchID: String, _ cancel: OperatorCancel?) async throws -> Bool {
        let requeue = cancel.map { $0.requeue ? 1 : 0 }
        return try await client.query(
            "UPDATE batches SET cancel_requeue = \(requeue) WHERE id = \(batchID) AND state = 'live' RETURNING id", logger: logger
        ).collect().count > 0
    }

    public func operatorCancel(batchID: String) async throws -> OperatorCancel? {
        for try await requeue in try await client.query(
            "SELECT cancel_requeue FROM batches WHERE id = \(batchID)", logger: logger
        ).decode(Int?.self) {
            return requeue.map { OperatorCancel(requeue: $0 != 0) }
        }
        return nil
    }
}
