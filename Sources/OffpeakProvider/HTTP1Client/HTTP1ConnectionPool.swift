import NIOConcurrencyHelpers
import NIOCore

/// Idle keep-alive connections by scheme, host and port, the most recently used first. A
/// connection is in the pool only between exchanges; one the server closes leaves it at once, and
/// one idle longer than the idle timeout is closed when it is next looked at.
final class HTTP1ConnectionPool: Sendable {
    private struct Idle {
        var connections: [HTTP1Client.PoolKey: [(handler: HTTP1ExchangeHandler, since: NIODeadline)]] = [:]
        var shutDown = false
    }
    private let idle = NIOLockedValueBox(Idle())
    private let idleTimeout: TimeAmount
    private let maxIdlePerKey: Int

    init(idleTimeout: TimeAmount, maxIdlePerKey: Int) {
        self.idleTimeout = idleTimeout
        self.maxIdlePerKey = maxIdlePerKey
    }

    /// An idle, open connection to `key`, taken out of the pool; nil when there is none. With
    /// `addresses`, only a connection to one of them is taken (the others stay for other requests).
    func take(_ key: HTTP1Client.PoolKey, to addresses: [SocketAddress] = []) -> HTTP1ExchangeHandler? {
        let now = NIODeadline.now()
        var stale: [HTTP1ExchangeHandler] = []
        let found = idle.withLockedValue { idle -> HTTP1ExchangeHandler? in
            guard !addresses.isEmpty else {
                while let last = idle.connections[key]?.popLast() {
                    if now - last.since < idleTimeout, last.handler.channel?.isActive == true { return last.handler }
                    stale.append(last.handler)
                }
                return nil
            }
            // The most recently used first, as above, passing over connections to other addresses.
            for index in (idle.connections[key]?.indices ?? 0..<0).reversed() {
                let candidate = idle.connections[key]![index]
                if now - candidate.since >= idleTimeout || candidate.handler.channel?.isActive != true {
                    stale.append(idle.connections[key]!.remove(at: index).handler)
                } else if let remote = candidate.handler.channel?.remoteAddress, addresses.contains(remote) {
                    return idle.connections[key]!.remove(at: index).handler
                }
            }
            return nil
        }
        for handler in stale { handler.channel?.close(promise: nil) }
        return found
    }

    /// Back in the pool after an exchange; closed instead when the pool is full or shut down.
    func put(_ handler: HTTP1ExchangeHandler) {
        let kept = idle.withLockedValue { idle -> Bool in
            guard !idle.shutDown, idle.connections[handler.key, default: []].count < maxIdlePerKey else { return false }
            idle.connections[handler.key, default: []].append((handler, .now()))
            return true
        }
        if !kept { handler.channel?.close(promise: nil) }
    }

    /// Out of the pool, if it was there (its connection has closed).
    func remove(_ handler: HTTP1ExchangeHandler) {
        idle.withLockedValue { idle in
            idle.connections[handler.key]?.removeAll { $0.handler === handler }
        }
    }

    /// Closes every idle connection; connections in use close when their exchange ends.
    func shutDown() {
        let handlers = idle.withLockedValue { idle in
            idle.shutDown = true
            defer { idle.connections = [:] }
            return idle.connections.values.flatMap { $0.map(\.handler) }
        }
        for handler in handlers { handler.channel?.close(promise: nil) }
    }

    var isShutDown: Bool { idle.withLockedValue { $0.shutDown } }
}
