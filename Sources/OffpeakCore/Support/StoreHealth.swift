import Synchronization

/// What intake last learned of the store's writes: a fault stands until a write succeeds, or
/// until `memory` seconds pass without another (a gateway taken out of rotation by `/readyz`
/// gets no calls to learn from, so the fault is forgotten and the next call tries again).
public final class StoreHealth: Sendable {
    public struct Standing: Sendable, Equatable {
        public var fault: StoreFault
        /// When the writes began to fail.
        public var since: Timestamp
        public var last: Timestamp
    }

    private let state = Mutex<Standing?>(nil)
    private let memory: Double

    public init(memory: Double = 10) {
        self.memory = memory
    }

    public func failed(_ fault: StoreFault, now: Timestamp) {
        state.withLock { standing in
            standing = Standing(fault: fault, since: standing?.since ?? now, last: now)
        }
    }

    /// A write succeeded; true when it ended a fault.
    @discardableResult
    public func succeeded() -> Bool {
        state.withLock { standing in
            defer { standing = nil }
            return standing != nil
        }
    }

    /// The fault in force at `now`, if any.
    public func current(now: Timestamp) -> Standing? {
        state.withLock { standing in
            guard let current = standing, now - current.last <= memory else { return nil }
            return current
        }
    }
}
