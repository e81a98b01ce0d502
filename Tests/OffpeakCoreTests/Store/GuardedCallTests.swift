import Foundation
import Logging
import OffpeakCore
import OffpeakTestSupport
import PostgresNIO
import Testing

@testable import OffpeakPostgres

/// Every PostgreSQL store call is answered: by its statement, or by a deadline when the connection
/// cannot be had, the statement goes unanswered, or the server closed the connection under it.
@Suite(.enabled(if: StoreKind.postgresURL != nil, "OFFPEAK_TEST_POSTGRES_URL names no PostgreSQL server"))
struct GuardedCallTests {
    let logger = {
        // The pool logs every refused connection of the tests that point it at nobody.
        var logger = Logger(label: "guarded-call-test")
        logger.logLevel = .error
        return logger
    }()

    /// Runs `store`'s pool with a first connection made, as the gateway's migrations make one at
    /// start-up: the deadlines under test are those of a running gateway, not of a server that is
    /// slow to accept a first connection on a loaded machine.
    static func running(_ store: PostgresStore, _ body: () async throws -> Void) async throws {
        try await StoreHarness.running([store]) {
            try await store.client.query("SELECT 1")
            try await body()
        }
    }

    /// The hang this guards against: a statement written on a connection the server has closed is
    /// never answered by the driver. Here the server ends the connection's backend, the call waits
    /// until the connection is seen closed, and only then sends its statement.
    @Test func aStatementOnAConnectionTheServerClosedIsAnswered() async throws {
        let store = try PostgresStore(url: try #require(StoreKind.postgresURL), logger: logger)
        let logger = logger
        try await Self.running(store) {
            let started = Date()
            let error = await #expect(throws: StoreFault.self) {
                try await GuardedCall.run(store.client, StatementDeadlines(lease: 30, answer: 180)) { connection in
                    let pid = try await connection.query("SELECT pg_backend_pid()", logger: logger).collect().first!.decode(Int32.self)
                    try await store.client.query("SELECT pg_terminate_backend(\(pid))", logger: logger)
                    try await eventually("the connection to close", within: 30) { connection.isClosed }
                    return try await connection.query("SELECT 1", logger: logger).collect().count
                }
            }
            #expect(error?.kind == .unreachable, "\(String(describing: error))")
            #expect(Date().timeIntervalSince(started) < 90, "answered by the closed connection, not the 180 s answer deadline")
            // The pool goes on with connections of its own.
            let after = try await store.rowCount("SELECT 1")
            #expect(after == 1)
        }
    }

    // The bounds on elapsed time below are far from the deadline under test and far from what the
    // call would take without it: in CI this suite shares the test process's two-thread task pool
    // with end-to-end tests, which have held it for seconds.

    @Test func aStatementUnansweredPastItsDeadlineIsAnswered() async throws {
        let store = try PostgresStore(url: try #require(StoreKind.postgresURL), logger: logger)
        let logger = logger
        try await Self.running(store) {
            let started = Date()
            let error = await #expect(throws: StoreFault.self) {
                try await GuardedCall.run(store.client, StatementDeadlines(lease: 30, answer: 1)) { connection in
                    try await connection.query("SELECT pg_sleep(120)", logger: logger).collect().count
                }
            }
            #expect(error?.kind == .unreachable)
            #expect(Date().timeIntervalSince(started) < 60, "answered at the answer deadline, not when the statement ends")
        }
    }

    @Test func noConnectionWithinTheLeaseDeadlineIsAnswered() async throws {
        // A port nobody listens on: the pool keeps trying to connect, the call does not wait for it.
        var configuration = try PostgresStore.clientConfiguration(url: "postgres://postgres@127.0.0.1:9/none")
        configuration.options.maximumConnections = 1
        let store = PostgresStore(client: PostgresClient(configuration: configuration, backgroundLogger: logger), logger: logger)
        try await StoreHarness.running([store]) {
            let started = Date()
            let error = await #expect(throws: StoreFault.self) {
                try await GuardedCall.run(store.client, StatementDeadlines(lease: 1, answer: 60)) { _ in 0 }
            }
            #expect(error?.kind == .unreachable)
            #expect(Date().timeIntervalSince(started) < 60, "not held while the pool goes on trying to connect")
        }
    }

    @Test func aCallerCancelledWhileWaitingForAConnectionIsAnsweredAtOnce() async throws {
        var configuration = try PostgresStore.clientConfiguration(url: "postgres://postgres@127.0.0.1:9/none")
        configuration.options.maximumConnections = 1
        let store = PostgresStore(client: PostgresClient(configuration: configuration, backgroundLogger: logger), logger: logger)
        try await StoreHarness.running([store]) {
            let started = Date()
            let call = Task { try await GuardedCall.run(store.client, StatementDeadlines(lease: 180, answer: 180)) { _ in 0 } }
            call.cancel()
            await #expect(throws: CancellationError.self) { try await call.value }
            #expect(Date().timeIntervalSince(started) < 60, "not held until the 180 s lease deadline")
        }
    }

    @Test func aCallThatSucceedsIsAnsweredWithItsRows() async throws {
        let store = try PostgresStore(url: try #require(StoreKind.postgresURL), logger: logger)
        try await Self.running(store) {
            let numbers = try await store.rows("SELECT generate_series(1, 3)") { try $0.decode(Int.self) }
            let none = try await store.firstRow("SELECT 1 WHERE false") { try $0.decode(Int.self) }
            #expect(numbers == [1, 2, 3])
            #expect(none == nil)
        }
    }
}
