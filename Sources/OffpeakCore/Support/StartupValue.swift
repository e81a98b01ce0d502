import ServiceLifecycle
import Synchronization

/// A value known once the application has started (the store migrated, the signing secret read),
/// awaited by the services that need it. Set once; a waiter that is cancelled stops waiting.
public final class StartupValue<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [Int: CheckedContinuation<Value, any Error>] = [:]
        var nextToken = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Already known.
    public init(_ value: Value) {
        state.withLock { $0.value = value }
    }

    public func set(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, any Error>] in
            state.value = value
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// The value, once set; throws `CancellationError` if the task is cancelled first.
    public func value() async throws -> Value {
        if let value = state.withLock({ $0.value }) { return value }
        let token = state.withLock { state -> Int in
            state.nextToken += 1
            return state.nextToken
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let known = state.withLock { state -> Result<Value, any Error>? in
                    if let value = state.value { return .success(value) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters[token] = continuation
                    return nil
                }
                if let known { continuation.resume(with: known) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: token) }
            waiter?.resume(throwing: CancellationError())
        }
    }
}

/// Runs a service once `gate` is set: the workers start after the store is migrated. Stopped
/// (gracefully or by cancellation) before then, it returns without running.
public struct AfterStartup<Value: Sendable>: Service {
    let gate: StartupValue<Value>
    let service: any Service

    public init(_ service: any Service, gate: StartupValue<Value>) {
        self.service = service
        self.gate = gate
    }

    public func run() async throws {
        let started = await cancelWhenGracefulShutdown { (try? await gate.value()) != nil }
        guard started, !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
        try await service.run()
    }
}
