import OffpeakCore
import PostgresNIO

extension PostgresStore {
    public func queuedCounts(byOwner: Bool) async throws -> QueuedCounts {
        var counts = QueuedCounts()
        guard byOwner else {
            counts.total = try await firstRow(PostgresQuery(unsafeSQL: QueuedCountSQL.total)) { try $0.decode(Int.self) } ?? 0
            return counts
        }
        for (owner, count) in try await rows(PostgresQuery(unsafeSQL: QueuedCountSQL.byOwner), { try $0.decode((String, Int).self) }) {
            counts.total += count
            counts.byOwner[owner] = count
        }
        return counts
    }
}
