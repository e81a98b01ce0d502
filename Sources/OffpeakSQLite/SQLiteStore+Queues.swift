import GRDB
import OffpeakCore

extension SQLiteStore {
    public func pausedGroups() async throws -> Set<GroupKey> {
        try await pool.read { db in
            var groups: Set<GroupKey> = []
            for row in try Row.fetchAll(db, sql: "SELECT upstream, endpoint, model FROM paused_groups") {
                groups.insert(GroupKey(upstream: row["upstream"], endpoint: row["endpoint"], model: row["model"]))
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
                var arguments: StatementArguments = [group.upstream, group.endpoint, group.model]
                if paused { arguments += [now] }
                try statement.execute(arguments: arguments)
            }
        }
    }

    public func recordCancel(batchID: String, _ cancel: OperatorCancel?) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE batches SET cancel_requeue = ? WHERE id = ? AND state = 'live'",
                arguments: [cancel.map { $0.requeue ? 1 : 0 }, batchID])
            return db.changesCount > 0
        }
    }

    public func operatorCancel(batchID: String) async throws -> OperatorCancel? {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT cancel_requeue FROM batches WHERE id = ?", arguments: [batchID])
                .map { OperatorCancel(requeue: $0 != 0) }
        }
    }
}
