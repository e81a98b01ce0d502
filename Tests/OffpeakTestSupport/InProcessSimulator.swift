import Hummingbird
import Logging
import OffpeakSimulator
import ServiceLifecycle
import Synchronization

/// Runs `body` with the simulated provider serving on a free loopback port, in this process; its
/// argument is the base URL (`http://127.0.0.1:PORT/v1`).
public func withInProcessSimulator(
    batchDelay: Double = 0.2, _ body: @Sendable (_ upstream: String) async throws -> Void
) async throws {
    let port = Mutex<Int?>(nil)
    let simulator = Simulator.build(
        SimulatorConfiguration(port: 0, batchDelay: batchDelay), logger: Logger(label: "simulator"),
        onRunning: { bound in port.withLock { $0 = bound } })
    let services = ServiceGroup(services: [simulator], gracefulShutdownSignals: [], logger: Logger(label: "test"))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        defer { group.cancelAll() }
        try await eventually("the simulator to listen", within: 30) { port.withLock { $0 } != nil }
        try await body("http://127.0.0.1:\(port.withLock { $0 }!)/v1")
        await services.triggerGracefulShutdown()
    }
}
