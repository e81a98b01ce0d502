import OffpeakCore
import Synchronization

/// A clock the test sets. Sleeping never takes real time: a sleeper is suspended until the test
/// moves the clock to (or past) its deadline, or its task is cancelled.
public final class ManualClock: WorkerClock {
    private struct State {
        var now: Timestamp
        var sleepers: [Int: (deadline: Timestamp, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var nextToken = 0
    }

    private let state: Mutex<State>

    public init(_ start: Timestamp = 1_000_000) {
        state = Mutex(State(now: start))
    }

    public func now() -> Timestamp { state.withLock { $0.now } }

    /// How many tasks are asleep on this clock.
    public var sleeping: Int { state.withLock { $0.sleepers.count } }

    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return }
        let token = state.withLock { state -> Int in
            state.nextToken += 1
            return state.nextToken
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready = state.withLock { state -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    let deadline = state.now + seconds
                    if deadline <= state.now { return .success(()) }
                    state.sleepers[token] = (deadline, continuation)
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: token) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock to `time` and wakes every sleeper whose deadline has come.
    public func set(_ time: Timestamp) {
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = time
            let due = state.sleepers.filter { $0.value.deadline <= time }
            for token in due.keys { state.sleepers.removeValue(forKey: token) }
            return due.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    public func advance(by seconds: Double) {
        set(now() + seconds)
    }
}
