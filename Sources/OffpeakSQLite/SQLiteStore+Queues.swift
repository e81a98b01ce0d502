import GRDB
import OffpeakCore

extension SQLiteStore {
    public func pausedGroups() async throws -> Set<GroupKey> {
        try await pool.read { db in
            var groups: Set<GroupKey> = []
            for row in try Row.fetchAll(db, sql: "SELECT endpoint, model FROM paused_groups") {
                groups.insert(GroupKey(endpoint: row["endpoint"], model: row["model"]))
            }
            return groups
        }
    }

    public func setPaused(_ groups: [GroupKey], paused: Bool, now: Timestamp) async throws {
        guard !groups.isEmpty else { return }
        try await pool.write { db in
            let statement = try db.cachedStatement(
                sql: paused
                    ? "INSERT INTO paused_groups (upstream, endpoint, model, paused_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
                    : "DELETE FROM paused_groups WHERE upstream = ? AND endpoint = ? AND model = ?")
            for group in groups {
                var arguments: StatementArguments = [UsageRecord.defaultUpstream, group.endpoint, group.model]
                if paused { arguments += [now] }
                try statement.execute(arguments: arguments)
            }
        }
    }
}
