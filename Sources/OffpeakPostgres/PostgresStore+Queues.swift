import OffpeakCore
import PostgresNIO

extension PostgresStore {
    public func pausedGroups() async throws -> Set<GroupKey> {
        var groups: Set<GroupKey> = []
        for try await (endpoint, model) in try await client.query("SELECT endpoint, model FROM paused_groups", logger: logger)
            .decode((String, String).self)
        {
            groups.insert(GroupKey(endpoint: endpoint, model: model))
        }
        return groups
    }

    public func setPaused(_ groups: [GroupKey], paused: Bool, now: Timestamp) async throws {
        guard !groups.isEmpty else { return }
        let endpoints = groups.map(\.endpoint)
        let models = groups.map(\.model)
        let upstream = UsageRecord.defaultUpstream
        if paused {
            try await client.query(
                """
                INSERT INTO paused_groups (upstream, endpoint, model, paused_at)
                SELECT \(upstream), e, m, \(now) FROM unnest(\(endpoints)::TEXT[], \(models)::TEXT[]) AS g(e, m)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        } else {
            try await client.query(
                """
                DELETE FROM paused_groups AS p USING unnest(\(endpoints)::TEXT[], \(models)::TEXT[]) AS g(e, m)
                WHERE p.upstream = \(upstream) AND p.endpoint = g.e AND p.model = g.m
                """, logger: logger)
        }
    }
}
