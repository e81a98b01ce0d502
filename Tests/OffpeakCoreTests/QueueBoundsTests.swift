import OffpeakCore
import Testing

/// The queue's bounds without the store on the hot path: reserved slots count at once, a refresh
/// takes the store's count without forgetting what was committed while it read.
@Suite struct QueueBoundsTests {
    @Test func slotsAreReservedUpToEachBound() throws {
        let bounds = QueueBounds(limits: .init(maxQueued: 3, maxQueuedPerKey: 2))
        let first = try bounds.reserve(owner: "a")
        let second = try bounds.reserve(owner: "a")
        #expect(throws: QueueBounds.Refusal.perKey(limit: 2)) { try bounds.reserve(owner: "a") }
        let third = try bounds.reserve(owner: "b")
        #expect(throws: QueueBounds.Refusal.total(limit: 3)) { try bounds.reserve(owner: "c") }
        bounds.finish(third, created: false)
        _ = try bounds.reserve(owner: "c")
        bounds.finish(first, created: true)
        bounds.finish(second, created: false)
        // A committed request holds its slot, one not stored (a replay) gives it back: a, c and d.
        _ = try bounds.reserve(owner: "d")
        #expect(throws: QueueBounds.Refusal.total(limit: 3)) { try bounds.reserve(owner: "e") }
    }

    @Test func aRefreshKeepsWhatWasCommittedWhileItRead() async throws {
        let bounds = QueueBounds(limits: .init(maxQueued: 3))
        bounds.finish(try bounds.reserve(owner: "a"), created: true)
        try await bounds.refresh {
            // Committed while the store was being read: the reading may not include it.
            bounds.finish(try bounds.reserve(owner: "a"), created: true)
            return QueuedCounts(total: 1)
        }
        bounds.finish(try bounds.reserve(owner: "a"), created: true)
        #expect(throws: QueueBounds.Refusal.total(limit: 3)) { try bounds.reserve(owner: "a") }
        try await bounds.refresh { QueuedCounts(total: 0) }
        _ = try bounds.reserve(owner: "a")
    }
}
