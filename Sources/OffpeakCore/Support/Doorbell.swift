import Synchronization

/// Wakes a sleeping worker early (the flusher when a request arrives). Rings are not counted:
/// one ring while nobody waits makes the next wait return at once.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when rung, after `seconds`, or when the task is cancelled.
    public func wait(seconds: Double, clock: some WorkerClock) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(seconds: seconds) }
            group.addTask { await self.waitForRing() }
            await group.next()
            group.cancelAll()
            self.ring()  // releases the ring waiter if the sleep finished first
            await group.waitForAll()
            self.state.withLock { $0.rung = false }
        }
    }

    private func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.rung {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.ring()
        }
    }
}
