import OffpeakCore
import Testing

@Suite struct FlushPolicyTests {
    let key = GroupKey(endpoint: "/v1/chat/completions", model: "qwen-plus")

    func backlog(count: Int, bytes: Int, oldest: Timestamp) -> GroupBacklog {
        GroupBacklog(key: key, count: count, lineBytes: bytes, oldestCreatedAt: oldest)
    }

    @Test func flushesOnSize() {
        let policy = FlushPolicy(maxRequests: 10, maxBytes: 1_000_000, maxAge: 60)
        #expect(policy.trigger(for: backlog(count: 9, bytes: 900, oldest: 1000), now: 1001) == nil)
        #expect(policy.trigger(for: backlog(count: 10, bytes: 1000, oldest: 1000), now: 1001) == .size)
    }

    @Test func flushesOnBytes() {
        let policy = FlushPolicy(maxRequests: 1000, maxBytes: 5000, maxAge: 60)
        #expect(policy.trigger(for: backlog(count: 4, bytes: 4999, oldest: 1000), now: 1001) == nil)
        #expect(policy.trigger(for: backlog(count: 5, bytes: 5000, oldest: 1000), now: 1001) == .bytes)
    }

    @Test func flushesOnAgeMeasuredByTheInjectedTime() {
        let policy = FlushPolicy(maxRequests: 1000, maxBytes: 1_000_000, maxAge: 60)
        let queue = backlog(count: 1, bytes: 100, oldest: 1000)
        #expect(policy.trigger(for: queue, now: 1059.9) == nil)
        #expect(policy.trigger(for: queue, now: 1060) == .age)
        #expect(policy.dueAt(queue) == 1060)
    }

    @Test func anEmptyGroupNeverFlushes() {
        let policy = FlushPolicy(maxRequests: 1, maxBytes: 1, maxAge: 0)
        #expect(policy.trigger(for: backlog(count: 0, bytes: 0, oldest: 0), now: 1e9) == nil)
    }

    @Test func neverExceedsTheProviderLimits() {
        let policy = FlushPolicy(maxRequests: 1_000_000, maxBytes: 2_000_000_000, maxAge: 1)
        #expect(policy.maxRequests == 50_000)
        #expect(policy.maxBytes == 500_000_000)
    }

    @Test func takesTheOldestLinesWithinBothLimits() {
        let policy = FlushPolicy(maxRequests: 3, maxBytes: 250, maxAge: 1)
        let byBytes = policy.take(lineSizes: [100, 100, 100, 100])
        #expect(byBytes.count == 2 && byBytes.bytes == 200)
        let byCount = FlushPolicy(maxRequests: 3, maxBytes: 10_000, maxAge: 1).take(lineSizes: [10, 10, 10, 10, 10])
        #expect(byCount.count == 3 && byCount.bytes == 30)
    }

    @Test func aLineLargerThanTheByteLimitStillGoesAlone() {
        let result = FlushPolicy(maxRequests: 10, maxBytes: 50, maxAge: 1).take(lineSizes: [80, 10])
        #expect(result.count == 1 && result.bytes == 80)
    }
}
