import GRDB
import OffpeakCore

extension SQLiteStore {
    public func queuedCounts(byOwner: Bool) async throws -> QueuedCounts {
        try await pool.read { db in
            guard byOwner else {
                return QueuedCounts(total: try Int.fetchOne(db, sql: QueuedCountSQL.total) ?? 0)
            }
            var counts = QueuedCounts()
            for row in try Row.fetchAll(db, sql: QueuedCountSQL.byOwner) {
                let count: Int = row["n"]
                counts.total += count
                counts.byOwner[row["owner"]] = count
            }
            return counts
        }
    }
}
