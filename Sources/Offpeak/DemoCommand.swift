import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import OffpeakCore
import OffpeakGateway
import OffpeakSQLite
import OffpeakSimulator
import ServiceLifecycle

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a simulated provider and a gateway on free ports, send sample traffic, and show the whole path."
    )

    @Option(help: "Deferred requests to send, spread over two models.") var requests = 40
    @Option(help: "Seconds each simulated batch takes.") var batchDelay = 3.0
    @Option(help: "trace, debug, info, notice, warning, error (gateway logs, to standard error).") var logLevel = "warning"

    func run() async throws {
        _ = LogSetup.bootstrap(level: logLevel)
        let logger = Logger(label: "offpeak.demo")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        let ports = PortBox()
        let simulator = Simulator.build(
            SimulatorConfiguration(port: 0, batchDelay: batchDelay), logger: logger,
            onRunning: { port in await ports.set(simulator: port) })
        let client = HTTPClient.makeForOffpeak()
        let store = try SQLiteStore(path: folder.appendingPathComponent("offpeak.sqlite").path)

        let script = DemoScript(client: client, requests: requests)
        // Two service groups, so that each server stops gracefully once the script is done.
        let simulatorGroup = ServiceGroup(services: [simulator], gracefulShutdownSignals: [], logger: logger)
        var failure: (any Error)?
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await simulatorGroup.run() }
            do {
                let simulatorPort = try await ports.simulator()
                var configuration = GatewayConfiguration()
                configuration.port = 0
                configuration.upstreamURL = "http://127.0.0.1:\(simulatorPort)/v1"
                configuration.upstreamAPIKey = "sk-demo"
                configuration.flush = FlushPolicy(maxRequests: 15, maxBytes: 104_857_600, maxAge: 2)
                configuration.pollInterval = 0.5
                let gateway = Gateway.build(
                    configuration: configuration, store: store, httpClient: client, logger: logger,
                    onRunning: { port in await ports.set(gateway: port) })
                let gatewayGroup = ServiceGroup(services: [gateway], gracefulShutdownSignals: [], logger: logger)
                group.addTask { try? await gatewayGroup.run() }
                do {
                    let gatewayPort = try await ports.gateway()
                    try await script.run(
                        gateway: "http://127.0.0.1:\(gatewayPort)", simulator: "http://127.0.0.1:\(simulatorPort)")
                } catch {
                    failure = error
                }
                await gatewayGroup.triggerGracefulShutdown()
            } catch {
                failure = error
            }
            await simulatorGroup.triggerGracefulShutdown()
        }
        try? await client.shutdown()
        if let failure { throw failure }
    }
}

/// The ports the two servers bound, known once they run.
actor PortBox {
    private var simulatorPort: Int?
    private var gatewayPort: Int?

    func set(simulator port: Int) { simulatorPort = port }
    func set(gateway port: Int) { gatewayPort = port }

    func simulator() async throws -> Int { try await waitFor { self.simulatorPort } }
    func gateway() async throws -> Int { try await waitFor { self.gatewayPort } }

    private func waitFor(_ value: () -> Int?) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let port = value() { return port }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw DemoFailure(message: "a server did not start within 30 seconds")
    }
}

struct DemoFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
