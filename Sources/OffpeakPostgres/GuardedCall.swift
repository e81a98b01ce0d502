import NIOCore
import NIOPosix
import OffpeakCore
import PostgresNIO
import Synchronization

/// How long a store call waits for a connection, and then for its answer.
public struct StatementDeadlines: Sendable {
    /// Seconds to wait for a connection from the pool.
    public var lease: Double
    /// Seconds the call may go unanswered once it holds a connection.
    public var answer: Double

    public init(lease: Double, answer: Double) {
        self.lease = lease
        self.answer = answer
    }

    /// Intake: a deferred call is answered 503 within seconds while the database is down.
    public static let intake = StatementDeadlines(lease: 5, answer: 15)
    /// Everything else: reads, the operator API, and the workers' bulk statements (a claim or a
    /// settle of thousands of rows is well under this).
    public static let standard = StatementDeadlines(lease: 10, answer: 120)
}

/// One store call on a leased connection, answered by whichever comes first: the call's own end,
/// no connection within the lease deadline, its connection found closed on two watches a second
/// apart, or no answer within the answer deadline.
///
/// postgres-nio hands a statement to its connection with a write whose failure nobody observes:
/// on a connection the server has just closed (it is stopping), the statement's promise is never
/// completed and whoever awaits it waits forever. The call therefore runs in a task of its own,
/// never awaited past the deadlines; when the caller is answered early, the statement is left to
/// end on its own, and whether it committed is unknown, as after any lost connection.
final class GuardedCall<T: Sendable>: Sendable {
    private enum Phase { case waiting, leased, ended }

    private struct State {
        var phase = Phase.waiting
        var continuation: CheckedContinuation<T, any Error>?
        var work: Task<Void, Never>?
        var leaseTimer: Scheduled<Void>?
        var watch: RepeatedTask?
        var closedWatches = 0
    }

    private let state = Mutex(State())

    /// Runs `body` on a connection of `client`'s under `deadlines`. Cancelling the caller while it
    /// waits for a connection answers it at once; once leased, the statement runs to its end.
    static func run(
        _ client: PostgresClient, _ deadlines: StatementDeadlines, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let call = GuardedCall<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                call.begin(continuation, deadlines: deadlines) {
                    do {
                        let result = try await client.withConnection { connection in
                            guard call.leased(connection, within: deadlines.answer) else { throw CancellationError() }
                            return try await body(connection)
                        }
                        call.end(.success(result))
                    } catch {
                        call.end(.failure(error))
                    }
                }
            }
        } onCancel: {
            call.abandon(CancellationError())
        }
    }

    private func begin(
        _ continuation: CheckedContinuation<T, any Error>, deadlines: StatementDeadlines, work: @escaping @Sendable () async -> Void
    ) {
        let started = state.withLock { state in
            guard state.phase == .waiting else { return false }
            state.continuation = continuation
            state.work = Task(operation: work)
            state.leaseTimer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .seconds(fractional: deadlines.lease)) {
                self.abandon(StoreFault(.unreachable, "no connection within \(deadlines.lease) s"))
            }
            return true
        }
        // Cancelled before it began.
        if !started { continuation.resume(throwing: CancellationError()) }
    }

    /// The call holds `connection`: false when its caller has been answered already.
    private func leased(_ connection: PostgresConnection, within answerDeadline: Double) -> Bool {
        state.withLock { state in
            guard state.phase == .waiting else { return false }
            state.phase = .leased
            state.leaseTimer?.cancel()
            let deadline = NIODeadline.now() + .seconds(fractional: answerDeadline)
            state.watch = connection.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                self.watch(connection, until: deadline, answerDeadline: answerDeadline)
            }
            return true
        }
    }

    private func watch(_ connection: PostgresConnection, until deadline: NIODeadline, answerDeadline: Double) {
        let closedTwice = state.withLock { state in
            state.closedWatches = connection.isClosed ? state.closedWatches + 1 : 0
            return state.closedWatches >= 2
        }
        if closedTwice {
            end(.failure(StoreFault(.unreachable, "connection closed with the statement unanswered")))
        } else if NIODeadline.now() >= deadline {
            end(.failure(StoreFault(.unreachable, "no answer within \(answerDeadline) s")))
        }
    }

    /// Answers the caller, unless it has been answered already.
    private func end(_ result: Result<T, any Error>) {
        let continuation = state.withLock { state in
            state.phase = .ended
            state.leaseTimer?.cancel()
            state.watch?.cancel()
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(with: result)
    }

    /// Answers a caller still waiting for a connection with `error`, and stops the wait.
    private func abandon(_ error: any Error) {
        let (continuation, work) = state.withLock { state in
            guard state.phase == .waiting else { return (nil as CheckedContinuation<T, any Error>?, nil as Task<Void, Never>?) }
            state.phase = .ended
            state.leaseTimer?.cancel()
            defer { state.continuation = nil }
            return (state.continuation, state.work)
        }
        continuation?.resume(throwing: error)
        work?.cancel()
    }
}

extension TimeAmount {
    static func seconds(fractional seconds: Double) -> TimeAmount { .milliseconds(Int64(seconds * 1000)) }
}
