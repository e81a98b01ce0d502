import AsyncHTTPClient
import Foundation
import Logging
import OffpeakCore
import OffpeakProvider
import OffpeakSQLite

/// 50,000 queued requests flushed into one file and uploaded; then the 50,000-line output file of
/// that batch split back into the store. Peak memory is this process's (the simulator runs apart).
enum FlushSplitStage {
    struct Figures {
        var flushSeconds: Double
        var flushPeakGrowth: Double
        var fileBytes: Int
        var copySeconds: Double
        var splitSeconds: Double
        var splitPeakGrowth: Double
        var outputBytes: Int
        var parseOnlySeconds: Double
        /// Reading the output file's lines from the simulator, and nothing else.
        var downloadSeconds: Double
    }

    static let count = 50_000

    static func run(client: HTTPClient, upstream: String) async throws -> Figures {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: folder.appendingPathComponent("offpeak.sqlite").path)
        try await store.migrate()
        let now = Date().timeIntervalSince1970
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for index in stride(from: worker, to: count, by: 16) {
                        let body = Bodies.chat(index: index)
                        let id = Identifier.deferred()
                        _ = try await store.accept(NewDeferredRequest(
                            record: DeferredRequest(
                                id: id, owner: "", endpoint: "/v1/chat/completions", model: "qwen-plus", createdAt: now,
                                bodyDigest: id, bodyBytes: body.count),
                            body: body))
                    }
                }
            }
            try await group.waitForAll()
        }
        let logger = Logger(label: "bench")
        let provider = HTTPBatchProvider(client: client, baseURL: upstream, apiKey: "sk-bench")
        let flusher = Flusher(
            store: store, provider: provider,
            configuration: .init(policy: FlushPolicy(maxRequests: 50_000, maxBytes: 500_000_000, maxAge: 0)), clock: SystemClock(),
            logger: logger)

        let before = Measure.status("VmRSS")
        Measure.resetPeak()
        let flushStart = ContinuousClock.now
        try await flusher.flushDue()
        let flushSeconds = Measure.seconds(since: flushStart)
        let flushPeak = Measure.status("VmHWM") - before
        let live = try await store.claimDuePolls(now: .infinity, lease: Lease(holder: "bench", until: .infinity), limit: 1)
        guard let batch = live.first, batch.requestCount == count else {
            throw BenchFailure("the flush did not put all \(count) requests in one batch")
        }
        let copySeconds = try timeCopy(bytes: batch.fileBytes, in: folder)

        var upstreamBatch = try await provider.batch(id: batch.upstreamID ?? "")
        let deadline = Date().addingTimeInterval(600)
        while !upstreamBatch.isTerminal {
            guard Date() < deadline else { throw BenchFailure("the simulator did not finish the batch") }
            try await Task.sleep(for: .milliseconds(200))
            upstreamBatch = try await provider.batch(id: upstreamBatch.id)
        }
        let poller = Poller(
            store: store, provider: provider, configuration: .init(interval: 1, rules: OutcomeRules(maxAttempts: 3)),
            clock: SystemClock(), logger: logger, onTerminal: { _ in })
        let splitBefore = Measure.status("VmRSS")
        Measure.resetPeak()
        let splitStart = ContinuousClock.now
        try await poller.collect(batch, upstreamBatch)
        let splitSeconds = Measure.seconds(since: splitStart)
        let splitPeak = Measure.status("VmHWM") - splitBefore
        guard try await store.pendingMembers(batchID: batch.id).isEmpty else { throw BenchFailure("rows left unsettled") }

        // The baseline: the same lines parsed with JSONSerialization and nothing else.
        let lines = LineBox()
        let downloadStart = ContinuousClock.now
        try await provider.readFileLines(id: upstreamBatch.outputFileID ?? "") { chunk in await lines.add(chunk) }
        let downloadSeconds = Measure.seconds(since: downloadStart)
        let all = await lines.lines
        let parseStart = ContinuousClock.now
        for line in all { _ = try JSONSerialization.jsonObject(with: Data(line)) }
        let parseSeconds = Measure.seconds(since: parseStart)
        return Figures(
            flushSeconds: flushSeconds, flushPeakGrowth: flushPeak, fileBytes: batch.fileBytes, copySeconds: copySeconds,
            splitSeconds: splitSeconds, splitPeakGrowth: splitPeak, outputBytes: all.reduce(0) { $0 + $1.count + 1 },
            parseOnlySeconds: parseSeconds, downloadSeconds: downloadSeconds)
    }


    /// A plain copy of a file of the same size, through the page cache.
    static func timeCopy(bytes: Int, in folder: URL) throws -> Double {
        let source = folder.appendingPathComponent("copy-source")
        let target = folder.appendingPathComponent("copy-target")
        try Data(repeating: 0x61, count: bytes).write(to: source)
        let start = ContinuousClock.now
        try FileManager.default.copyItem(at: source, to: target)
        return Measure.seconds(since: start)
    }
}

actor LineBox {
    var lines: [[UInt8]] = []
    func add(_ chunk: [[UInt8]]) { lines += chunk }
}
