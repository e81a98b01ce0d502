import Foundation
import Metrics
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Bounds the client connections open at once (`OFFPEAK_MAX_CONNECTIONS`): a connection past the
/// bound is closed as soon as it is accepted, before anything is read from it, so that a flood of
/// connections cannot take the descriptors the store, the upstreams and the callbacks need. One
/// `ConnectionLimit` is shared by the server; each connection gets a `ConnectionLimit.Handler`.
final class ConnectionLimit: Sendable {
    let maximum: Int
    private let open = Atomic<Int>(0)
    static let refused = Counter(label: "offpeak_http_connections_refused_total")
    static let gauge = Gauge(label: "offpeak_http_connections_open")

    init(maximum: Int) {
        self.maximum = maximum
    }

    /// The bound when none is configured: the process's descriptor limit, less 512 kept for the
    /// store's files, connections to upstreams and callbacks, and the listening socket.
    static var defaultMaximum: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return 65_536 }
        return max(64, Int(clamping: limit.rlim_cur) - 512)
    }

    /// Counts a connection in; false (and not counted) when the bound is reached.
    func admit() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < maximum {
            let (exchanged, original) = open.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged {
                Self.gauge.record(current + 1)
                return true
            }
            current = original
        }
        Self.refused.increment()
        return false
    }

    func release() {
        Self.gauge.record(open.subtract(1, ordering: .relaxed).newValue)
    }

    /// A connection's share of the bound, taken when its pipeline is made and given back when it
    /// closes.
    final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        private let limit: ConnectionLimit
        private var admitted = false

        init(_ limit: ConnectionLimit) {
            self.limit = limit
        }

        func handlerAdded(context: ChannelHandlerContext) {
            admitted = limit.admit()
            if !admitted, context.channel.isActive { context.close(promise: nil) }
        }

        func channelActive(context: ChannelHandlerContext) {
            guard admitted else {
                context.close(promise: nil)
                return
            }
            context.fireChannelActive()
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            if admitted {
                admitted = false
                limit.release()
            }
        }
    }
}
