import NIOCore
import NIOPosix
import OffpeakCore
import PostgresNIO
import Synchronization

/// PostgreSQL's errors that mean the database cannot take writes now, and a connection lease with
/// a deadline, so that a call waiting for a database that is down is answered instead of waiting
/// for the pool's circuit breaker.
extension PostgresStore {
    public func fault(_ error: any Error) -> StoreFault? {
        if let fault = error as? StoreFault { return fault }
        // The pool's own errors (its circuit breaker open) come from a module it does not export.
        if error is NIOConnectionError || error is IOError || error is ChannelError
            || String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError")
        {
            return StoreFault(.unreachable, String(describing: error))
        }
        guard let error = error as? PSQLError else { return nil }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed, .sslUnsupported,
            .failedToAddSSLHandler:
            return StoreFault(.unreachable, "PostgreSQL connection: \(error.code)")
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let detail = "PostgreSQL \(state): \(error.serverInfo?[.message] ?? "")"
            switch state {
            case "53100": return StoreFault(.diskFull, detail)
            case "25006": return StoreFault(.readOnly, detail)
            case "58030": return StoreFault(.ioError, detail)
            case "57P01", "57P02", "57P03", "53300": return StoreFault(.unreachable, detail)
            default: return state.hasPrefix("08") ? StoreFault(.unreachable, detail) : nil
            }
        default:
            return nil
        }
    }

    /// Runs `body` on a connection leased within `deadline` seconds, or throws `unreachable` having
    /// sent nothing. Once leased, `body` is never cancelled; but when it has no answer within
    /// `answerDeadline` seconds (a connection lost mid-statement, seen as the server stops), the
    /// caller is answered `unreachable` and the statement left to end on its own. Whether it
    /// committed is then unknown, as after any lost connection: a retry with the same
    /// `Idempotency-Key` finds the request if it did. The lease and the statement run in a task of
    /// their own, never awaited past the deadlines, so that neither can hold the caller.
    static func withConnection<T: Sendable>(
        _ client: PostgresClient, leasedWithin deadline: Double, answeredWithin answerDeadline: Double,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let lease = Lease()
        let tooLate = StoreFault(.unreachable, "no connection within \(deadline) s")
        let noAnswer = StoreFault(.unreachable, "no answer within \(answerDeadline) s")
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let answer = ResumeOnce(continuation)
            let work = Task {
                do {
                    let result = try await client.withConnection { connection in
                        let late = lease.state.withLock { state in
                            if state == .timedOut { return true }
                            state = .leased
                            return false
                        }
                        if late { throw tooLate }
                        Task {
                            try? await Task.sleep(for: .milliseconds(Int64(answerDeadline * 1000)))
                            answer.resume(.failure(noAnswer))
                        }
                        return try await body(connection)
                    }
                    answer.resume(.success(result))
                } catch {
                    answer.resume(.failure(error))
                }
            }
            Task {
                try? await Task.sleep(for: .milliseconds(Int64(deadline * 1000)))
                let timedOut = lease.state.withLock { state in
                    if state == .leased { return false }
                    state = .timedOut
                    return true
                }
                if timedOut {
                    answer.resume(.failure(tooLate))
                    work.cancel()
                }
            }
        }
    }

    private enum LeaseState { case waiting, leased, timedOut }

    private final class Lease: Sendable {
        let state = Mutex(LeaseState.waiting)
    }
}
