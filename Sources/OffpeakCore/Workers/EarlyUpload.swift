import Logging
import NIOCore
import Synchronization

/// A batch's file uploaded while its claim is still marking rows. A 50,000-request claim keeps
/// SQLite's writer busy for most of a second and the upload takes half as long again; one after
/// the other, the flush is their sum. The store reports what the claim plans to take (so the upload
/// can announce the file's size) and each run of lines as it commits (a committed line is final:
/// nothing else writes it), and the upload sends each run as soon as it is final.
///
/// If the claim ends with a file other than the plan (a request cancelled, requeued or taken by
/// another instance meanwhile), the upload stops before its last byte, so the provider never
/// holds the whole of a file that is not the batch's, and the flusher uploads the file as claimed.
/// A store that claims in one step reports no plan, and the file is uploaded after the claim.
final class EarlyUpload: Sendable {
    enum Event: Sendable {
        case progress(ClaimProgress)
        case ended(lines: Int, bytes: Int)
    }

    /// Why an early upload gave way to the ordinary one.
    struct Superseded: Error, CustomStringConvertible {
        let description: String
    }

    private let sink: AsyncStream<Event>.Continuation
    private let task: Task<(fileID: String, lines: Int, bytes: Int)?, Never>

    init(batchID: String, store: any BatchQueue, provider: any BatchProvider, logger: Logger) {
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        self.sink = sink
        task = Task {
            var iterator = events.makeAsyncIterator()
            guard case .progress(.planned(let lines, let bytes)) = await iterator.next() else { return nil }
            let file = ClaimedFile(store: store, batchID: batchID, plan: (lines, bytes), events: iterator)
            let handedOut = Mutex(false)
            let makeReader: @Sendable () -> ChunkReader = {
                // The claim's events are read once: a second pass over the file is the ordinary upload's.
                let first = handedOut.withLock { taken in
                    defer { taken = true }
                    return !taken
                }
                guard first else { return { throw Superseded(description: "the file was already read once") } }
                return { try await file.next() }
            }
            do {
                let fileID = try await provider.uploadBatchFile(filename: "\(batchID).jsonl", size: bytes, makeReader: makeReader)
                return (fileID, lines, bytes)
            } catch {
                logger.debug("the file was not uploaded while claimed", metadata: ["batch": "\(batchID)", "error": "\(error)"])
                return nil
            }
        }
    }

    /// Passed to the store's claim.
    func report(_ progress: ClaimProgress) {
        sink.yield(.progress(progress))
    }

    /// The claim is over: `batch` is what it took (nil if nothing, or if it failed).
    func claimEnded(_ batch: BatchRecord?) {
        if let batch { sink.yield(.ended(lines: batch.requestCount, bytes: batch.fileBytes)) }
        sink.finish()
    }

    /// The provider's id for the batch's file, if the early upload sent exactly that file; nil if
    /// the file must be uploaded now. Waits for the early upload to end. The reader already fails
    /// on a file other than the plan; the counts are compared again for a provider that takes the
    /// file without reading it (Anthropic's inline batches read it at creation).
    func fileID(for batch: BatchRecord) async -> String? {
        let uploaded = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        guard let uploaded, uploaded.lines == batch.requestCount, uploaded.bytes == batch.fileBytes else { return nil }
        return uploaded.fileID
    }

    func cancel() {
        sink.finish()
        task.cancel()
    }
}

/// The batch's file as its claim commits it: each chunk is read from the store once the claim has
/// committed its lines, never past them, and the file ends only when the claim has ended with the
/// planned lines and bytes.
private actor ClaimedFile {
    private let store: any BatchQueue
    private let batchID: String
    private let plan: (lines: Int, bytes: Int)
    private var events: AsyncStream<EarlyUpload.Event>.Iterator
    private var committed = 0
    private var ended: (lines: Int, bytes: Int)?
    private var after = 0

    init(store: any BatchQueue, batchID: String, plan: (lines: Int, bytes: Int), events: AsyncStream<EarlyUpload.Event>.Iterator) {
        self.store = store
        self.batchID = batchID
        self.plan = plan
        self.events = events
    }

    func next() async throws -> ByteBuffer? {
        while true {
            if let ended, ended != plan {
                throw EarlyUpload.Superseded(
                    description:
                        "the claim took \(ended.lines) lines (\(ended.bytes) bytes), not the \(plan.lines) (\(plan.bytes)) planned")
            }
            let final = min(committed, plan.lines)
            if after < final {
                let limit = min(LineCursor.chunkLines, final - after)
                guard let chunk = try await store.batchFile(batchID: batchID, after: after, limit: limit) else {
                    throw EarlyUpload.Superseded(description: "line \(after + 1) was committed but could not be read")
                }
                after = chunk.lastLine
                return chunk.bytes
            }
            if ended != nil { return nil }  // every planned line sent, and the claim took exactly them
            if committed > plan.lines {
                throw EarlyUpload.Superseded(description: "the claim took more than the \(plan.lines) lines planned")
            }
            var iterator = events
            let event = await iterator.next(isolation: self)
            events = iterator
            switch event {
            case .progress(.committed(let lines, _)): committed = lines
            case .progress(.planned): break
            case .ended(let lines, let bytes):
                // Every line of a claim that ended is committed.
                ended = (lines, bytes)
                committed = max(committed, lines)
            case nil: throw EarlyUpload.Superseded(description: "the claim stopped")
            }
        }
    }
}
