import Foundation
import Logging
import NIOCore
import OffpeakProvider
import OffpeakSQLite
import OffpeakTestSupport
import Synchronization
import Testing

@testable import OffpeakCore

/// The batch's file uploaded while the claim still marks rows: never a line before it is
/// committed, and never the whole of a file the claim did not take.
@Suite struct EarlyUploadTests {
    static let group = GroupKey(endpoint: "/v1/chat/completions", model: "qwen-plus")
    static let lease = Lease(holder: "test", until: 1_000_000)

    /// A claimed batch of `count` requests on a memory store, and its whole file, line by line.
    static func claimed(_ count: Int) async throws -> (MemoryStore, BatchRecord, lines: [[UInt8]]) {
        let store = MemoryStore()
        for index in 0..<count { try await store.acceptChat(id: "dfr_\(index)", content: "item \(index)", at: 1_000) }
        let batch = try #require(try await store.claimBatch(id: "bat_1", group: group, policy: FlushPolicy(), now: 2_000, lease: lease))
        let file = try await wholeFile(store, batchID: batch.id)
        return (store, batch, file.split(separator: UInt8(ascii: "\n")).map { Array($0) + [UInt8(ascii: "\n")] })
    }

    static func wholeFile(_ store: any BatchQueue, batchID: String) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        var after = 0
        while let chunk = try await store.batchFile(batchID: batchID, after: after, limit: 1_000) {
            bytes += Array(chunk.bytes.readableBytesView)
            after = chunk.lastLine
        }
        return bytes
    }

    @Test func theFileGoesOutRunByRunAsTheClaimCommitsIt() async throws {
        let (store, batch, lines) = try await Self.claimed(1_200)
        let committed = Mutex(0)
        let provider = ReadingProvider { sent in
            #expect(sent <= committed.withLock { $0 }, "line \(sent) went out before the claim committed it")
        }
        let early = EarlyUpload(batchID: batch.id, store: store, provider: provider, logger: Logger(label: "test"))
        early.report(.planned(lines: 1_200, bytes: batch.fileBytes))
        for count in [500, 1_000] {
            committed.withLock { $0 = count }
            early.report(.committed(lines: count, bytes: lines.prefix(count).map(\.count).reduce(0, +)))
            try await eventually("the first \(count) lines sent", within: 20) { provider.sentLines == count }
        }
        #expect(provider.outcome == nil, "the file is not over until the claim is")
        committed.withLock { $0 = 1_200 }
        early.claimEnded(batch)
        #expect(await early.fileID(for: batch) == "file-early")
        let whole = provider.received == lines.flatMap { $0 }
        #expect(whole, "the provider read the whole file, once")
        #expect(provider.outcome == "uploaded")
    }

    /// The plan against what the claim took: more lines, fewer, or the same lines and other bytes.
    @Test(arguments: [(100, 0), (-100, 0), (0, 1)])
    func aClaimThatTookAnotherFileCutsTheUploadShort(extraLines: Int, extraBytes: Int) async throws {
        let (store, batch, lines) = try await Self.claimed(1_200)
        let plannedLines = 1_200 + extraLines
        let plannedBytes =
            extraLines < 0 ? lines.prefix(plannedLines).map(\.count).reduce(0, +) : batch.fileBytes + extraLines * 64 + extraBytes
        let provider = ReadingProvider { _ in }
        let early = EarlyUpload(batchID: batch.id, store: store, provider: provider, logger: Logger(label: "test"))
        early.report(.planned(lines: plannedLines, bytes: plannedBytes))
        early.report(.committed(lines: 1_200, bytes: batch.fileBytes))
        early.claimEnded(batch)
        #expect(await early.fileID(for: batch) == nil, "the file must be uploaded again, as claimed")
        #expect(provider.outcome?.hasPrefix("failed") == true, "the reader failed the upload before its end")
    }

    @Test func aStoreThatReportsNoPlanLeavesTheUploadForLater() async throws {
        let (store, batch, _) = try await Self.claimed(10)
        let provider = ReadingProvider { _ in }
        let early = EarlyUpload(batchID: batch.id, store: store, provider: provider, logger: Logger(label: "test"))
        early.claimEnded(batch)
        #expect(await early.fileID(for: batch) == nil)
        #expect(provider.calls.withLock { $0 } == 0)
    }

    /// The flusher on SQLite (which claims 4,500 requests in three slices) against the simulator:
    /// with the plan holding, one upload; with the claim ending otherwise than planned, the early
    /// upload is cut short and the file uploaded again. Either way the provider holds one file, the batch's.
    @Test(arguments: [true, false])
    func theFlusherUploadsWhileItClaims(planHolds: Bool) async throws {
        try await withInProcessSimulator { upstream in
            try await StoreHarness.with(.sqlite) { stores in
                let store = try #require(stores.first as? SQLiteStore)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<4_500 {
                        if index >= 64 { try await group.next() }
                        group.addTask { try await store.acceptChat(id: "dfr_\(index)", content: "item \(index)", at: 1_000) }
                    }
                    try await group.waitForAll()
                }
                let queue = SkewedPlan(inner: store, extraBytes: planHolds ? 0 : 1)
                let provider = CountingProvider(inner: HTTPBatchProvider(client: TestHTTP.client, baseURL: upstream, apiKey: "sk-test"))
                let flusher = Flusher(
                    store: queue, provider: provider,
                    configuration: .init(policy: FlushPolicy(maxRequests: 4_500, maxBytes: 1 << 30, maxAge: 60)), clock: ManualClock(),
                    logger: Logger(label: "flusher"))
                try await flusher.flushDue()

                let live = try await store.batches(in: .live)
                #expect(live.map(\.requestCount) == [4_500])
                #expect(queue.plans.withLock { $0 } == 1, "the claim reported its plan")
                #expect(provider.uploads.withLock { $0 } == (planHolds ? [true] : [false, true]))
                let fileID = try #require(live.first?.inputFileID)
                let content = try await TestHTTP.get(
                    "\(upstream)/files/\(fileID)/content", headers: [("Authorization", "Bearer sk-test")])
                let expected = try await Self.wholeFile(store, batchID: try #require(live.first?.id))
                // Compared whole (a failed comparison of two 400 KB arrays would be diffed element by element).
                let same = content.body == expected
                #expect(
                    same, "the provider's file (\(content.status), \(content.body.count) bytes) is the batch's (\(expected.count) bytes)")
                let stats = try await TestHTTP.get(upstream.replacingOccurrences(of: "/v1", with: "/sim/stats"))
                #expect(stats.json?["files"] as? Int == 1, "a file cut short never reaches the provider")
            }
        }
    }
}

/// Reads an upload's file as a provider would, keeping what it read.
final class ReadingProvider: BatchProvider {
    private let state = Mutex<(received: [UInt8], lines: Int, outcome: String?)>(([], 0, nil))
    let calls = Mutex(0)
    /// Called with the number of lines read so far, after each chunk.
    private let onChunk: @Sendable (Int) -> Void

    init(onChunk: @escaping @Sendable (Int) -> Void) {
        self.onChunk = onChunk
    }

    var received: [UInt8] { state.withLock { $0.received } }
    var sentLines: Int { state.withLock { $0.lines } }
    var outcome: String? { state.withLock { $0.outcome } }

    func uploadBatchFile(
        filename: String, size: Int, makeReader: @escaping @Sendable () -> ChunkReader
    ) async throws(ProviderError) -> String {
        calls.withLock { $0 += 1 }
        let next = makeReader()
        do {
            while var chunk = try await next() {
                let bytes = chunk.readBytes(length: chunk.readableBytes) ?? []
                let lines = state.withLock { state in
                    state.received += bytes
                    state.lines += bytes.count { $0 == UInt8(ascii: "\n") }
                    return state.lines
                }
                onChunk(lines)
            }
        } catch {
            state.withLock { $0.outcome = "failed: \(error)" }
            throw ProviderError(.transport, message: "\(error)")
        }
        state.withLock { $0.outcome = "uploaded" }
        return "file-early"
    }

    func createBatch(_ request: CreateBatchRequest) async throws(ProviderError) -> UpstreamBatch { throw Self.unused }
    func batch(id: String) async throws(ProviderError) -> UpstreamBatch { throw Self.unused }
    func cancelBatch(id: String) async throws(ProviderError) -> UpstreamBatch { throw Self.unused }
    func recentBatches(limit: Int) async throws(ProviderError) -> [UpstreamBatch] { throw Self.unused }
    func readFileLines(id: String, handle: @Sendable ([[UInt8]]) async throws -> Void) async throws { throw Self.unused }
    func deleteFile(id: String) async throws(ProviderError) { throw Self.unused }
    static let unused = ProviderError(.malformed, message: "not used by these tests")
}

/// A provider that counts its uploads (true for each that succeeded) and passes everything on.
final class CountingProvider: BatchProvider {
    let inner: any BatchProvider
    let uploads = Mutex<[Bool]>([])

    init(inner: any BatchProvider) {
        self.inner = inner
    }

    func uploadBatchFile(
        filename: String, size: Int, makeReader: @escaping @Sendable () -> ChunkReader
    ) async throws(ProviderError) -> String {
        do {
            let id = try await inner.uploadBatchFile(filename: filename, size: size, makeReader: makeReader)
            uploads.withLock { $0.append(true) }
            return id
        } catch {
            uploads.withLock { $0.append(false) }
            throw error
        }
    }

    func createBatch(_ request: CreateBatchRequest) async throws(ProviderError) -> UpstreamBatch { try await inner.createBatch(request) }
    func batch(id: String) async throws(ProviderError) -> UpstreamBatch { try await inner.batch(id: id) }
    func cancelBatch(id: String) async throws(ProviderError) -> UpstreamBatch { try await inner.cancelBatch(id: id) }
    func recentBatches(limit: Int) async throws(ProviderError) -> [UpstreamBatch] { try await inner.recentBatches(limit: limit) }
    func readFileLines(id: String, handle: @Sendable ([[UInt8]]) async throws -> Void) async throws {
        try await inner.readFileLines(id: id, handle: handle)
    }
    func deleteFile(id: String) async throws(ProviderError) { try await inner.deleteFile(id: id) }
}

/// A store whose claims announce `extraBytes` more than they will take, as if a request had
/// been cancelled between the plan and the claim; otherwise the store it wraps.
final class SkewedPlan: BatchQueue {
    let inner: any BatchQueue
    let extraBytes: Int
    let plans = Mutex(0)

    init(inner: any BatchQueue, extraBytes: Int) {
        self.inner = inner
        self.extraBytes = extraBytes
    }

    func claimBatch(
        id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease,
        progress: @escaping @Sendable (ClaimProgress) -> Void
    ) async throws -> BatchRecord? {
        try await inner.claimBatch(id: id, group: group, policy: policy, now: now, lease: lease) { report in
            guard case .planned(let lines, let bytes) = report else { return progress(report) }
            self.plans.withLock { $0 += 1 }
            progress(.planned(lines: lines, bytes: bytes + self.extraBytes))
        }
    }

    func claimBatch(id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease) async throws -> BatchRecord? {
        try await inner.claimBatch(id: id, group: group, policy: policy, now: now, lease: lease)
    }
    func backlogs() async throws -> [GroupBacklog] { try await inner.backlogs() }
    func pausedGroups() async throws -> Set<GroupKey> { try await inner.pausedGroups() }
    func claimStalledBatches(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        try await inner.claimStalledBatches(now: now, lease: lease, limit: limit)
    }
    func batchFile(batchID: String, after: Int, limit: Int) async throws -> BatchFileChunk? {
        try await inner.batchFile(batchID: batchID, after: after, limit: limit)
    }
    func recordUpload(batchID: String, inputFileID: String) async throws {
        try await inner.recordUpload(batchID: batchID, inputFileID: inputFileID)
    }
    func markLive(batchID: String, upstreamID: String, upstreamStatus: UpstreamBatchStatus, nextPollAt: Timestamp, now: Timestamp)
        async throws
    {
        try await inner.markLive(batchID: batchID, upstreamID: upstreamID, upstreamStatus: upstreamStatus, nextPollAt: nextPollAt, now: now)
    }
    func setAside(batchID: String, holder: String, retryAt: Timestamp) async throws {
        try await inner.setAside(batchID: batchID, holder: holder, retryAt: retryAt)
    }
    func abandon(batchID: String, now: Timestamp) async throws { try await inner.abandon(batchID: batchID, now: now) }
    func renewLease(batchID: String, lease: Lease) async throws -> Bool { try await inner.renewLease(batchID: batchID, lease: lease) }
}
