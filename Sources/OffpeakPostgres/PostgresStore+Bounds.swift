import OffpeakCore
import PostgresNIO

extension PostgresStore {
    public func queuedCounts(byOwner: Bool) async throws -> QueuedCounts {
        var counts = QueuedCounts()
        guard byOwner else {
            for try await total in try await client.query(PostgresQuery(unsafeSQL: QueuedCountSQL.total), logger: logger).decode(Int.self) {
                counts.total = total
            }
            return counts
        }
        for try await (owner, count) in try await client.query(PostgresQuery(unsafeSQL: QueuedCountSQL.byOwner), logger: logger)
            .decode((String, Int).self)
        {
            counts.total += count
            counts.byOwner[owner] = count
        }
        return counts
    }
}
