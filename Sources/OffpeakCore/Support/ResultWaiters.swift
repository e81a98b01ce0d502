import Synchronization

/// Lets `Prefer: wait=N` callers sleep until their request reaches a terminal status.
public final class ResultWaiters: Sendable {
    private struct Waiter {
        let token: Int
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var nextToken = 0
        var waiters: [String: [Waiter]] = [:]
        /// Tokens released before their waiter was registered.
        var released: Set<Int> = []
    }

    private let state = Mutex(State())

    public init() {}

    public func notify(_ ids: some Sequence<String>) {
        let resumed = state.withLock { state -> [Waiter] in
            var resumed: [Waiter] = []
            for id in ids {
                if let list = state.waiters.removeValue(forKey: id) { resumed += list }
            }
            return resumed
        }
        for waiter in resumed { waiter.continuation.resume() }
    }

    /// Returns when `id` is notified, after `seconds`, or on cancellation: the caller re-reads the store.
    public func wait(for id: String, seconds: Double, clock: some WorkerClock) async {
        guard seconds > 0 else { return }
        let token = state.withLock { state -> Int in
            state.nextToken += 1
            return state.nextToken
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(seconds: seconds) }
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let early = self.state.withLock { state -> Bool in
                            if state.released.remove(token) != nil { return true }
                            state.waiters[id, default: []].append(Waiter(token: token, continuation: continuation))
                            return false
                        }
                        if early { continuation.resume() }
                    }
                } onCancel: {
                    self.release(id: id, token: token)
                }
            }
            await group.next()
            group.cancelAll()
            self.release(id: id, token: token)
            await group.waitForAll()
        }
        _ = state.withLock { $0.released.remove(token) }
    }

    private func release(id: String, token: Int) {
        let waiter = state.withLock { state -> Waiter? in
            guard var list = state.waiters[id], let index = list.firstIndex(where: { $0.token == token }) else {
                state.released.insert(token)
                return nil
            }
            let waiter = list.remove(at: index)
            state.waiters[id] = list.isEmpty ? nil : list
            return waiter
        }
        waiter?.continuation.resume()
    }
}
