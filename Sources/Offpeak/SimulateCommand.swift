import ArgumentParser
import Hummingbird
import Logging
import OffpeakSimulator
import UnixSignals

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the simulated OpenAI-compatible provider (files, batches, chat completions, injectable faults)."
    )

    @Option(help: "Listen address.") var host = "127.0.0.1"
    @Option(help: "Listen port, 0 for any free port.") var port = 9090
    @Option(help: "Seconds a batch takes from creation to completion.") var batchDelay = 5.0
    @Option(help: "Seconds before a real-time answer starts.") var latency = 0.0
    @Option(help: "Seconds between the chunks of a streamed answer.") var streamChunkDelay = 0.005
    @Option(help: "Seconds before a service_tier=flex call is answered.") var flexLatency = 0.0
    @Option(help: "Accept only this API key (default: any bearer key).") var apiKey: String?
    @Option(help: "Seconds between the 64 KiB pieces of a file's content (a slow download).") var fileChunkDelay = 0.0
    @Option(help: "trace, debug, info, notice, warning, error.") var logLevel: String?

    func run() async throws {
        _ = LogSetup.bootstrap(level: logLevel)
        let host = host
        let app = Simulator.build(
            SimulatorConfiguration(
                host: host, port: port, batchDelay: batchDelay, latency: latency, streamChunkDelay: streamChunkDelay,
                apiKey: apiKey, fileChunkDelay: fileChunkDelay, flexLatency: flexLatency),
            logger: Logger(label: "offpeak.simulator"),
            onRunning: { port in LogSetup.announce("offpeak simulator: listening on http://\(host):\(port)/v1") })
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
