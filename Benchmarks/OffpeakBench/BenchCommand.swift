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
    @Option(help: "Seconds of load per accept run.") var seconds = 10
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
            var fast: [AcceptStage.Figures] = []
            var naive: [AcceptStage.Figures] = []
            var postgres: [AcceptStage.Figures] = []
            var flushing: [AcceptStage.Figures] = []
            for run in 1...runs {
                say("accept: run \(run) of \(runs)")
                fast.append(try await AcceptStage.run(upstream: upstream, naive: false, seconds: seconds))
                flushing.append(try await AcceptStage.run(upstream: upstream, naive: false, seconds: seconds, flushing: true))
                naive.append(try await AcceptStage.run(upstream: upstream, naive: true, seconds: seconds))
                if let admin = PostgresDatabase.adminURL {
                    postgres.append(try await PostgresDatabase.withFresh(admin) { url in
                        try await AcceptStage.run(upstream: upstream, naive: false, seconds: seconds, database: url)
                    })
                }
            }
            let rps = Measure.median(fast.map(\.requestsPerSecond))
            let naiveRPS = Measure.median(naive.map(\.requestsPerSecond))
            let errors = fast.map(\.errors).reduce(0, +)
            rows.append(Row(
                stage: "deferred accept, durable (64 connections)",
                figure: String(format: "%.0f req/s, p50 %@, p99 %@%@", rps, Measure.ms(Measure.median(fast.map(\.p50))),
                               Measure.ms(Measure.median(fast.map(\.p99))), errors > 0 ? ", \(errors) errors" : ""),
                target: "≥ 20,000 req/s, p99 ≤ 15 ms",
                baseline: String(format: "one transaction per request: %.0f req/s, p99 %@", naiveRPS, Measure.ms(Measure.median(naive.map(\.p99)))),
                ratio: String(format: "%.2f×", rps / naiveRPS)))
            rows.append(Row(
                stage: "deferred accept, durable, while 10,000-request files are flushed",
                figure: String(format: "%.0f req/s, p50 %@, p99 %@", Measure.median(flushing.map(\.requestsPerSecond)),
                               Measure.ms(Measure.median(flushing.map(\.p50))), Measure.ms(Measure.median(flushing.map(\.p99)))),
                target: "(same)",
                baseline: String(format: "accepts alone, same run: %.0f req/s", rps),
                ratio: String(format: "%.2f×", Measure.median(flushing.map(\.requestsPerSecond)) / rps)))
            if !postgres.isEmpty {
                let pgRPS = Measure.median(postgres.map(\.requestsPerSecond))
                let pgErrors = postgres.map(\.errors).reduce(0, +)
                rows.append(Row(
                    stage: "deferred accept, durable, PostgreSQL store (64 connections)",
                    figure: String(format: "%.0f req/s, p50 %@, p99 %@%@", pgRPS, Measure.ms(Measure.median(postgres.map(\.p50))),
                                   Measure.ms(Measure.median(postgres.map(\.p99))), pgErrors > 0 ? ", \(pgErrors) errors" : ""),
                    target: "≥ 5,000 req/s",
                    baseline: String(format: "SQLite store, same run: %.0f req/s", rps),
                    ratio: String(format: "%.2f×", pgRPS / rps)))
            }
        }

        if stages.contains("passthrough") {
            let gateway = try await Child(["serve", "--port", "0"], environment: [
                "OFFPEAK_UPSTREAM_URL": upstream, "OFFPEAK_UPSTREAM_API_KEY": "sk-bench",
                "OFFPEAK_DATABASE": FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-bench-\(UUID().uuidString).sqlite").path,
            ])
            defer { gateway.stop() }
            var direct: [PassthroughStage.Figures] = []
            var via: [PassthroughStage.Figures] = []
            var directFirst: [Double] = []
            var viaFirst: [Double] = []
            for run in 1...runs {
                say("passthrough: run \(run) of \(runs)")
                direct.append(try await PassthroughStage.openLoop(client: client, url: upstream + "/chat/completions", rate: 500, seconds: 6))
                via.append(try await PassthroughStage.openLoop(client: client, url: gateway.url + "/v1/chat/completions", rate: 500, seconds: 6))
                directFirst.append(try await PassthroughStage.firstChunk(client: client, url: upstream + "/chat/completions", count: 50))
                viaFirst.append(try await PassthroughStage.firstChunk(client: client, url: gateway.url + "/v1/chat/completions", count: 50))
            }
            let (d50, d99) = (Measure.median(direct.map(\.p50)), Measure.median(direct.map(\.p99)))
            let (v50, v99) = (Measure.median(via.map(\.p50)), Measure.median(via.map(\.p99)))
            let (df, vf) = (Measure.median(directFirst), Measure.median(viaFirst))
            rows.append(Row(
                stage: "passthrough overhead at 500 req/s (open loop)",
                figure: "+\(Measure.ms(v50 - d50)) p50, +\(Measure.ms(v99 - d99)) p99; stream first chunk +\(Measure.ms(vf - df))",
                target: "≤ 0.3 ms p50, ≤ 1 ms p99; ≤ 1 ms",
                baseline: "direct: p50 \(Measure.ms(d50)), p99 \(Measure.ms(d99)), first chunk \(Measure.ms(df))",
                ratio: String(format: "%.2f× p50", v50 / d50)))
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
                target: "≤ 2 s, peak growth ≤ 64 MB",
                baseline: String(format: "plain copy of the same bytes: %.3f s", copy),
                ratio: String(format: "%.1f×", flush / copy)))
            let split = Measure.median(figures.map(\.splitSeconds))
            let parse = Measure.median(figures.map(\.parseOnlySeconds))
            rows.append(Row(
                stage: "split: 50,000-line output → every result stored",
                figure: String(format: "%.2f s, peak +%@ (file %@)", split, Measure.mb(Measure.median(figures.map(\.splitPeakGrowth))),
                               Measure.mb(Double(figures[0].outputBytes))),
                target: "≤ 3 s, peak growth ≤ 64 MB",
                baseline: String(format: "JSONSerialization of the lines alone: %.2f s", parse),
                ratio: String(format: "%.2f×", split / parse)))
        }

        if stages.contains("webhooks") {
            var rates: [Double] = []
            for run in 1...runs {
                say("webhooks: run \(run) of \(runs)")
                rates.append(try await WebhookStage.run(client: client))
            }
            rows.append(Row(
                stage: "webhook delivery to a loopback receiver", figure: String(format: "%.0f signed deliveries/s", Measure.median(rates)),
                target: "≥ 2,000/s", baseline: "—", ratio: "—"))
        }

        if stages.contains("memory") {
            var sizes: [Double] = []
            for run in 1...runs {
                say("memory: run \(run) of \(runs)")
                sizes.append(try await MemoryStage.run(client: client, upstream: upstream))
            }
            rows.append(Row(
                stage: "memory at rest, 100,000 queued requests", figure: Measure.mb(Measure.median(sizes)) + " resident",
                target: "≤ 100 MB", baseline: "—", ratio: "—"))
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
