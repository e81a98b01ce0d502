import ArgumentParser
import AsyncHTTPClient
import Foundation

@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offpeak-bench",
        abstract: "Measure each stage of Offpeak on this machine and print one table (see Benchmarks/run)."
    )

    @Option(help: "Runs of each stage; the table shows medians.") var runs = 3
    @Option(help: "Seconds of load per accept run (long enough that a 50,000-request file is flushed mid-run).") var seconds = 15
    @Option(help: "Where to write the table as Markdown.") var output = "docs/benchmarks.md"
    @Option(parsing: .upToNextOption, help: "Stages to run: accept passthrough flush webhooks memory usage.")
    var stages: [String] = ["accept", "passthrough", "flush", "webhooks", "memory", "usage"]

    struct Row {
        var stage: String
        var figure: String
        var target: String
        var baseline: String
        var ratio: String
    }

    func run() async throws {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 128
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await measure(client: client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    func measure(client: HTTPClient) async throws {
        let simulator = try await Child(["simulate", "--port", "0", "--batch-delay", "2", "--stream-chunk-delay", "0"])
        defer { simulator.stop() }
        let upstream = simulator.url + "/v1"
        var rows: [Row] = []
        func say(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

        if stages.contains("accept") {
            var sqlite: [AcceptStage.Figures] = []
            var flushed: [Int] = []
            var postgres: [AcceptStage.Figures] = []
            var baseline: [AcceptStage.Figures] = []
            var bare: [AcceptStage.Figures] = []
            for run in 1...runs {
                say("accept: run \(run) of \(runs)")
                baseline.append(try await AcceptStage.baseline("db", seconds: seconds))
                bare.append(try await AcceptStage.baseline("nodb", seconds: seconds))
                let (figures, count) = try await AcceptStage.run(upstream: upstream, seconds: seconds)
                sqlite.append(figures)
                flushed.append(count)
                if let admin = PostgresDatabase.adminURL {
                    postgres.append(try await PostgresDatabase.withFresh(admin) { url in
                        try await AcceptStage.run(upstream: upstream, seconds: seconds, database: url).0
                    })
                }
            }
            func summary(_ runs: [AcceptStage.Figures]) -> String {
                let errors = runs.map(\.errors).reduce(0, +)
                return String(format: "%.0f req/s, p50 %@, p99 %@%@", Measure.median(runs.map(\.requestsPerSecond)),
                              Measure.ms(Measure.median(runs.map(\.p50))), Measure.ms(Measure.median(runs.map(\.p99))),
                              errors > 0 ? ", \(errors) errors" : "")
            }
            let rps = Measure.median(sqlite.map(\.requestsPerSecond))
            let baseRPS = Measure.median(baseline.map(\.requestsPerSecond))
            rows.append(Row(
                stage: "durable accepts, SQLite (64 connections), a 50,000-request file claimed and uploaded mid-run",
                figure: summary(sqlite) + " (\(flushed.map(String.init).joined(separator: ", ")) requests flushed)",
                target: "≥ 1.0× the baseline's req/s; p99 ≤ 2× the baseline's",
                baseline: "accept baseline: " + summary(baseline)
                    + String(format: " (bare handler, no store: %.0f req/s)", Measure.median(bare.map(\.requestsPerSecond))),
                ratio: String(format: "%.2f× req/s, %.2f× p99", rps / baseRPS,
                              Measure.median(sqlite.map(\.p99)) / Measure.median(baseline.map(\.p99)))))
            if !postgres.isEmpty {
                rows.append(Row(
                    stage: "durable accepts, PostgreSQL on this machine (64 connections), the same load",
                    figure: summary(postgres),
                    target: "≥ 0.9× SQLite's",
                    baseline: String(format: "SQLite store, same run: %.0f req/s", rps),
                    ratio: String(format: "%.2f×", Measure.median(postgres.map(\.requestsPerSecond)) / rps)))
            }
        }

        if stages.contains("passthrough") {
            let database = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-bench-\(UUID().uuidString).sqlite").path
            let gateway = try await Child(["serve", "--port", "0"], environment: [
                "OFFPEAK_UPSTREAM_URL": upstream, "OFFPEAK_UPSTREAM_API_KEY": "sk-bench", "OFFPEAK_DATABASE": database,
            ])
            defer {
                gateway.stop()
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
            }
            var direct: [PassthroughStage.Figures] = []
            var via: [PassthroughStage.Figures] = []
            var directFirst: [Double] = []
            var viaFirst: [Double] = []
            var cpu: [PassthroughStage.CPU] = []
            var reference: ReferenceRelay? = nil
            if let nginx = ReferenceRelay.binary { reference = try await ReferenceRelay(binary: nginx, upstreamPort: simulator.port) }
            defer { reference?.stop() }
            var referenceVia: [PassthroughStage.Figures] = []
            var referenceFirst: [Double] = []
            var referenceCPU: [PassthroughStage.CPU] = []
            for run in 1...runs {
                say("passthrough: run \(run) of \(runs)")
                direct.append(try await PassthroughStage.oneAtATime(client: client, url: upstream + "/chat/completions", count: 2000))
                via.append(try await PassthroughStage.oneAtATime(client: client, url: gateway.url + "/v1/chat/completions", count: 2000))
                directFirst.append(try await PassthroughStage.firstChunk(client: client, url: upstream + "/chat/completions", count: 200))
                viaFirst.append(try await PassthroughStage.firstChunk(client: client, url: gateway.url + "/v1/chat/completions", count: 200))
                cpu.append(try PassthroughStage.cpu(
                    url: gateway.url + "/v1/chat/completions", gateway: gateway.pid, simulator: simulator.pid, seconds: seconds))
                if let reference {
                    let url = reference.url + "/v1/chat/completions"
                    referenceVia.append(try await PassthroughStage.oneAtATime(client: client, url: url, count: 2000))
                    referenceFirst.append(try await PassthroughStage.firstChunk(client: client, url: url, count: 200))
                    referenceCPU.append(try PassthroughStage.cpu(url: url, gateway: reference.pid, simulator: simulator.pid, seconds: seconds))
                }
            }
            let (d50, d99) = (Measure.median(direct.map(\.p50)), Measure.median(direct.map(\.p99)))
            let (v50, v99) = (Measure.median(via.map(\.p50)), Measure.median(via.map(\.p99)))
            let (df, vf) = (Measure.median(directFirst), Measure.median(viaFirst))
            rows.append(Row(
                stage: "passthrough, one call at a time",
                figure: "+\(Measure.ms(v50 - d50)) p50, +\(Measure.ms(v99 - d99)) p99; stream first chunk +\(Measure.ms(vf - df))",
                target: "≤ +0.3 ms p50, ≤ +1 ms p99; ≤ +1 ms",
                baseline: "the simulator called directly: p50 \(Measure.ms(d50)), p99 \(Measure.ms(d99)), first chunk \(Measure.ms(df))",
                ratio: String(format: "%.2f× p50", v50 / d50)))
            let (gatewayCPU, simulatorCPU) = (Measure.median(cpu.map(\.gateway)), Measure.median(cpu.map(\.simulator)))
            rows.append(Row(
                stage: "passthrough, 64 connections: gateway CPU per relayed call",
                figure: String(format: "%.0f µs (%.0f calls/s)", gatewayCPU * 1e6, Measure.median(cpu.map(\.requestsPerSecond))),
                target: "≤ 0.5× the simulator's",
                baseline: String(format: "the simulator's CPU per answer, same run: %.0f µs", simulatorCPU * 1e6),
                ratio: String(format: "%.2f×", gatewayCPU / simulatorCPU)))
            if !referenceVia.isEmpty {
                let (r50, r99) = (Measure.median(referenceVia.map(\.p50)), Measure.median(referenceVia.map(\.p99)))
                let (relayCPU, itsSimulatorCPU) = (Measure.median(referenceCPU.map(\.gateway)), Measure.median(referenceCPU.map(\.simulator)))
                rows.append(Row(
                    stage: "reference: nginx relaying the same calls to the same simulator (a calibration of the two rows above)",
                    figure: "one at a time \(Measure.signedMS(r50 - d50)) p50, \(Measure.signedMS(r99 - d99)) p99; "
                        + "stream first chunk \(Measure.signedMS(Measure.median(referenceFirst) - df))"
                        + String(format: "; 64 connections: %.0f µs of CPU per call", relayCPU * 1e6),
                    target: "none: what a relay in C adds on this machine",
                    baseline: String(format: "the simulator, same run: p50 %@; %.0f µs of CPU per answer", Measure.ms(d50), itsSimulatorCPU * 1e6),
                    ratio: String(format: "%.2f× CPU", relayCPU / itsSimulatorCPU)))
            }
        }

        if stages.contains("flush") {
            var figures: [FlushSplitStage.Figures] = []
            for run in 1...runs {
                say("flush and split: run \(run) of \(runs)")
                figures.append(try await FlushSplitStage.run(client: client, upstream: upstream))
            }
            let flush = Measure.median(figures.map(\.flushSeconds))
            let copy = Measure.median(figures.map(\.copySeconds))
            rows.append(Row(
                stage: "flush: 50,000 queued → JSONL uploaded",
                figure: String(format: "%.2f s, peak +%@ (file %@)", flush, Measure.mb(Measure.median(figures.map(\.flushPeakGrowth))),
                               Measure.mb(Double(figures[0].fileBytes))),
                target: "≤ 10× the plain copy, peak growth ≤ 64 MB",
                baseline: String(format: "plain copy of the same bytes: %.3f s", copy),
                ratio: String(format: "%.1f×", flush / copy)))
            let split = Measure.median(figures.map(\.splitSeconds))
            let parse = Measure.median(figures.map(\.parseOnlySeconds))
            rows.append(Row(
                stage: "split: 50,000-line output → every result stored and its cost recorded",
                figure: String(format: "%.2f s, peak +%@ (file %@)", split, Measure.mb(Measure.median(figures.map(\.splitPeakGrowth))),
                               Measure.mb(Double(figures[0].outputBytes))),
                target: "≤ 2× JSONSerialization, peak growth ≤ 64 MB",
                baseline: String(
                    format: "JSONSerialization of the lines alone: %.2f s (downloading them alone: %.2f s)", parse,
                    Measure.median(figures.map(\.downloadSeconds))),
                ratio: String(format: "%.2f×", split / parse)))
        }

        if stages.contains("webhooks") {
            var figures: [WebhookStage.Figures] = []
            for run in 1...runs {
                say("webhooks: run \(run) of \(runs)")
                figures.append(try await WebhookStage.run(client: client))
            }
            let (rate, unsigned) = (Measure.median(figures.map(\.deliveriesPerSecond)), Measure.median(figures.map(\.wrkPerSecond)))
            rows.append(Row(
                stage: "webhook delivery to a loopback receiver", figure: String(format: "%.0f signed deliveries/s", rate),
                target: "≥ 0.5× wrk's unsigned POSTs",
                baseline: String(format: "wrk's unsigned POSTs to the same receiver (64 connections): %.0f/s", unsigned),
                ratio: String(format: "%.2f×", rate / unsigned)))
        }

        if stages.contains("memory") {
            var sizes: [MemoryStage.Figures] = []
            for run in 1...runs {
                say("memory: run \(run) of \(runs)")
                sizes.append(try await MemoryStage.run(client: client, upstream: upstream))
            }
            rows.append(Row(
                stage: "memory at rest, 1,000,000 queued requests",
                figure: Measure.mb(Measure.median(sizes.map(\.atMillion))) + " resident"
                    + String(format: " (CPU at rest: %.1f%% of a core)", 100 * Measure.median(sizes.map(\.cpuAtMillion))),
                target: "≤ 100 MB, not growing with the queue",
                baseline: "the same gateway at 100,000 queued: " + Measure.mb(Measure.median(sizes.map(\.atHundredThousand))),
                ratio: String(format: "%.2f×", Measure.median(sizes.map(\.atMillion)) / Measure.median(sizes.map(\.atHundredThousand)))))
        }

        if stages.contains("usage") {
            var figures: [UsageReportStage.Figures] = []
            for run in 1...runs {
                say("usage report: run \(run) of \(runs)")
                figures.append(try await UsageReportStage.run())
            }
            let report = Measure.median(figures.map(\.reportSeconds))
            let scan = Measure.median(figures.map(\.recordsScanSeconds))
            rows.append(Row(
                stage: "usage report: 30 days by day, model and lane over 1,000,000 records (SQLite)",
                figure: String(format: "%@ (one key's report %@; loading the records %.1f s)", Measure.ms(report),
                               Measure.ms(Measure.median(figures.map(\.keyReportSeconds))), Measure.median(figures.map(\.loadSeconds))),
                target: "< 200 ms",
                baseline: "the same sums by GROUP BY over the records: \(Measure.ms(scan))",
                ratio: String(format: "%.3f×", report / scan)))
        }

        let table = Self.render(rows)
        print(table)
        let notesPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("notes.md").path
        let notes = (try? String(contentsOfFile: notesPath, encoding: .utf8)) ?? ""
        let document = """
            # Benchmarks

            Produced by `Benchmarks/run` on \(ISO8601DateFormatter().string(from: Date())), medians of \(runs) runs.
            Machine: \(Measure.machine()). The load generator runs on the same machine.

            \(table)

            \(notes)
            """
        try? FileManager.default.createDirectory(
            at: URL(fileURLWithPath: output).deletingLastPathComponent(), withIntermediateDirectories: true)
        try document.write(toFile: output, atomically: true, encoding: .utf8)
    }

    static func render(_ rows: [Row]) -> String {
        var lines = ["| stage | figure | target | baseline | ratio |", "|---|---|---|---|---|"]
        for row in rows { lines.append("| \(row.stage) | \(row.figure) | \(row.target) | \(row.baseline) | \(row.ratio) |") }
        return lines.joined(separator: "\n")
    }
}
