import Synchronization

/// Resumes a continuation once, whichever of several tasks comes first.
public final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    public init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = Mutex(continuation)
    }

    public func resume(_ result: Result<T, any Error>) {
        continuation.withLock { waiting in
            defer { waiting = nil }
            return waiting
        }?.resume(with: result)
    }
}

/// Runs `operation` in a task of its own and answers with its result, or with `expired()` after
/// `seconds`. The operation is then cancelled but not awaited: one that ignores cancellation (a
/// database call on a connection lost mid-statement) cannot hold the caller past the deadline, as
/// a task group, which awaits all its children, would.
public func withDeadline<T: Sendable>(
    seconds: Double, expired: @escaping @Sendable () -> any Error, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let answer = ResumeOnce(continuation)
        let work = Task {
            do {
                answer.resume(.success(try await operation()))
            } catch {
                answer.resume(.failure(error))
            }
        }
        Task {
            try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            answer.resume(.failure(expired()))
            work.cancel()
        }
    }
}
