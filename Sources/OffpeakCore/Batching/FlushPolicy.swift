/// When a group's queue becomes an upstream batch, and how much of it goes in one file.
public struct FlushPolicy: Sendable, Equatable {
    /// The provider's hard limits (DashScope and OpenAI): lines per file and bytes per file.
    public static let providerMaxRequests = 50_000
    public static let providerMaxBytes = 500 * 1_000_000

    public var maxRequests: Int
    public var maxBytes: Int
    public var maxAge: Double

    public init(maxRequests: Int = 10_000, maxBytes: Int = 104_857_600, maxAge: Double = 60) {
        self.maxRequests = min(max(1, maxRequests), Self.providerMaxRequests)
        self.maxBytes = min(max(1, maxBytes), Self.providerMaxBytes)
        self.maxAge = max(0, maxAge)
    }

    public enum Trigger: String, Sendable {
        case size, bytes, age
    }

    /// Why this backlog should be flushed now, or nil to keep waiting.
    public func trigger(for backlog: GroupBacklog, now: Timestamp) -> Trigger? {
        guard backlog.count > 0 else { return nil }
        if backlog.count >= maxRequests { return .size }
        if backlog.lineBytes >= maxBytes { return .bytes }
        if now - backlog.oldestCreatedAt >= maxAge { return .age }
        return nil
    }

    /// When this backlog will be due by age, for the flusher's next wake-up.
    public func dueAt(_ backlog: GroupBacklog) -> Timestamp {
        backlog.oldestCreatedAt + maxAge
    }

    /// How many of the queued lines (oldest first) go in one file: at most `maxRequests`, and no
    /// more bytes than `maxBytes` — but always at least one, so that no request is stuck. With
    /// `taken`, the file already holds that many lines and bytes: how many more go in.
    public func take(lineSizes: some Sequence<Int>, after taken: (count: Int, bytes: Int) = (0, 0)) -> (count: Int, bytes: Int) {
        var count = taken.count
        var bytes = taken.bytes
        for size in lineSizes {
            if count == maxRequests { break }
            if count > 0 && bytes + size > maxBytes { break }
            count += 1
            bytes += size
        }
        return (count - taken.count, bytes - taken.bytes)
    }
}
