import Logging
import Metrics
import NIOCore
import ServiceLifecycle
import Synchronization

/// Turns each group's queue into upstream batches when the flush policy says so: claims the
/// requests, streams their JSONL to the provider, creates the batch, and hands it to the poller.
public final class Flusher<Clock: WorkerClock>: Service, QueueFlushing {
    public struct Configuration: Sendable {
        /// The flush policy of a single upstream (`init(store:provider:…)`); with several, each
        /// upstream's own (`BatchUpstreams`).
        public var policy: FlushPolicy
        public var completionWindow: String
        /// How often the queue is looked at when nothing rings.
        public var idleCheck: Double
        public var retry: RetryPolicy
        /// The least time between two looks at the queue: a burst of accepts rings the doorbell
        /// thousands of times a second, and each look sums the queue.
        public var minimumSpacing: Double
        /// Seconds a batch being prepared stays ours without renewal (see `LeaseKeeper`).
        public var lease: Double

        public init(
            policy: FlushPolicy, completionWindow: String = "24h", idleCheck: Double = 1, retry: RetryPolicy = .init(),
            minimumSpacing: Double = 0.1, lease: Double = 30
        ) {
            self.lease = lease
            self.policy = policy
            self.completionWindow = completionWindow
            self.idleCheck = idleCheck
            self.retry = retry
            self.minimumSpacing = minimumSpacing
        }
    }

    /// Seconds between looks for batches nobody holds, and before a batch whose creation failed
    /// is tried again.
    static var resumeInterval: Double { 10 }


    private let store: any BatchQueue
    private let upstreams: BatchUpstreams
    private let configuration: Configuration
    private let clock: Clock
    private let logger: Logger
    public let doorbell: Doorbell
    private let onSubmitted: @Sendable () -> Void
    private let leases: LeaseKeeper<Clock>
    /// Groups whose last upload failed, and when to try them again: a provider that refuses
    /// uploads (down, or misconfigured) must not have the same requests claimed in a tight loop.
    private let heldBack = Mutex<[GroupKey: (until: Timestamp, failures: Int)]>([:])
    /// Seconds the last looks at the queue took: summing a queue of a million requests takes a
    /// third of a second here, and the looks are spaced by it (`FlushPacing`).
    private let lookCosts = Mutex(QueueWatch.Costs())

    /// One upstream (`default`), flushed by `configuration.policy`.
    public convenience init(
        store: any BatchQueue, provider: any BatchProvider, configuration: Configuration, clock: Clock,
        logger: Logger, doorbell: Doorbell = Doorbell(), onSubmitted: @escaping @Sendable () -> Void = {}
    ) {
        self.init(
            store: store,
            upstreams: .single(provider, policy: configuration.policy, completionWindow: configuration.completionWindow),
            configuration: configuration, clock: clock, logger: logger, doorbell: doorbell, onSubmitted: onSubmitted)
    }

    public init(
        store: any BatchQueue, upstreams: BatchUpstreams, configuration: Configuration, clock: Clock,
        logger: Logger, doorbell: Doorbell = Doorbell(), onSubmitted: @escaping @Sendable () -> Void = {}
    ) {
        self.store = store
        self.upstreams = upstreams
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.doorbell = doorbell
        self.onSubmitted = onSubmitted
        leases = LeaseKeeper(store: store, clock: clock, duration: configuration.lease, role: "flusher", logger: logger)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.loop()
        }
    }

    private func loop() async {
        await resumePreparedBatches()
        var lastResume = clock.now()
        var backoff = FaultBackoff()
        while !Task.isCancelled {
            // Batches set aside after a failed create, or left by an instance that stopped, are taken up.
            if clock.now() - lastResume >= Self.resumeInterval {
                await resumePreparedBatches()
                lastResume = clock.now()
            }
            var due: Timestamp?
            var failedDelay: Double?
            do {
                due = try await flushDue()
                backoff.succeeded("flush passes succeed again", logger: logger)
            } catch {
                failedDelay = backoff.failed(error, "flush pass failed; backing off", logger: logger)
            }
            let pace = FlushPacing(
                idleCheck: configuration.idleCheck, minimumSpacing: configuration.minimumSpacing, lookCost: lookCosts.withLock { $0.typical })
            let wait = pace.wait(untilDue: due.map { $0 - clock.now() }, failedDelay: failedDelay)
            try? await clock.sleep(seconds: min(wait, pace.spacing))
            await doorbell.wait(seconds: wait - pace.spacing, clock: clock)
        }
    }

    /// Batches left `preparing` by a stop or a crash (of this instance or another), and batches set
    /// aside after a failed create whose time has come: finish them (or find them upstream).
    public func resumePreparedBatches() async {
        do {
            while true {
                let stalled = try await store.claimStalledBatches(now: clock.now(), lease: leases.fresh(), limit: 8)
                guard !stalled.isEmpty else { break }
                for batch in stalled {
                    await submit(batch, recovering: true)
                }
            }
        } catch {
            logger.error("could not resume prepared batches", metadata: ["error": "\(error)"])
        }
    }

    /// Flushes every group that is due and not paused; returns when the next group will be due by age.
    @discardableResult
    public func flushDue() async throws -> Timestamp? {
        var nextDue: Timestamp?
        let paused = try await store.pausedGroups()
        let looked = clock.now()
        let backlogs = try await store.backlogs()
        lookCosts.withLock { $0.record(clock.now() - looked) }
        QueueMetrics.shared.record(backlogs, now: clock.now())
        for backlog in backlogs where !paused.contains(backlog.key) {
            var backlog = backlog
            let now = clock.now()
            if let until = heldBack.withLock({ $0[backlog.key]?.until }), until > now {
                nextDue = min(nextDue ?? until, until)
                continue
            }
            guard let policy = upstreams.target(backlog.key.upstream)?.policy else {
                logger.error("requests wait for an upstream that is not configured", metadata: ["group": "\(backlog.key)"])
                continue
            }
            guard let trigger = policy.trigger(for: backlog, now: now) else {
                let due = policy.dueAt(backlog)
                nextDue = min(nextDue ?? due, due)
                continue
            }
            // A large backlog may fill several files; a file that would be small waits for age.
            var first = true
            while first || policy.trigger(for: backlog, now: now) != nil {
                first = false
                guard case .sent(let batch) = try await flushFile(of: backlog.key, trigger: trigger.rawValue, now: now) else { break }
                backlog.count -= batch.requestCount
                backlog.lineBytes -= batch.fileBytes
            }
        }
        return nextDue
    }

    /// Flushes these groups now, whatever their age or size (an operator's flush): every queued
    /// request, in as many files as the limits need. Paused groups are left alone. Returns the
    /// batches it started, once each is submitted (or set aside to be retried).
    public func flushNow(_ groups: [GroupKey]) async throws -> [BatchRecord] {
        let paused = try await store.pausedGroups()
        var started: [BatchRecord] = []
        for key in groups where !paused.contains(key) {
            while case .sent(let batch) = try await flushFile(of: key, trigger: "operator", now: clock.now()) {
                started.append(batch)
            }
        }
        return started
    }

    private enum FileFlush {
        /// Nothing was queued.
        case empty
        case sent(BatchRecord)
        /// The upload failed: the requests are queued again and the group held back.
        case heldBack
    }

    /// Claims one file of the group's queue (within the policy's limits) and submits it.
    /// The file is uploaded while it is claimed, where the store reports the claim's progress (`EarlyUpload`).
    private func flushFile(of key: GroupKey, trigger: String, now: Timestamp) async throws -> FileFlush {
        guard let target = upstreams.target(key.upstream) else { return .empty }
        let id = Identifier.batch()
        let early = EarlyUpload(batchID: id, store: store, provider: target.provider, logger: logger)
        defer { early.cancel() }
        let claimed: BatchRecord?
        do {
            claimed = try await store.claimBatch(
                id: id, group: key, policy: target.policy, now: now, lease: leases.fresh(), progress: early.report)
        } catch {
            early.claimEnded(nil)
            throw error
        }
        early.claimEnded(claimed)
        guard let batch = claimed else { return .empty }
        logger.info(
            "flushing group",
            metadata: [
                "batch": "\(batch.id)", "model": "\(batch.model)", "requests": "\(batch.requestCount)",
                "bytes": "\(batch.fileBytes)", "trigger": "\(trigger)",
            ])
        guard await submit(batch, recovering: false, early: early) else {
            holdBack(key, now: now)
            return .heldBack
        }
        heldBack.withLock { _ = $0.removeValue(forKey: key) }
        return .sent(batch)
    }

    /// After a failed upload the group waits (exponential backoff on the retry policy's bounds)
    /// before its requests are claimed again.
    private func holdBack(_ key: GroupKey, now: Timestamp) {
        let wait = heldBack.withLock { held in
            let failures = (held[key]?.failures ?? 0) + 1
            let wait = configuration.retry.delay(afterAttempt: failures, retryAfter: nil)
            held[key] = (now + wait, failures)
            return wait
        }
        logger.warning("group held back after a failed upload", metadata: ["group": "\(key)", "retry_in": "\(wait)"])
    }

    /// Uploads and creates one batch, as `BatchSubmission` directs. Returns false only when the
    /// upload failed and the requests went back to the queue. The batch's lease is renewed
    /// meanwhile; if it is lost, the work stops and the new holder goes on.
    @discardableResult
    func submit(_ batch: BatchRecord, recovering: Bool, early: EarlyUpload? = nil) async -> Bool {
        await leases.whileHolding(batch.id) { await self.submitHeld(batch, recovering: recovering, early: early) } ?? true
    }

    private func submitHeld(_ batch: BatchRecord, recovering: Bool, early: EarlyUpload?) async -> Bool {
        var metadata: Logger.Metadata = ["batch": "\(batch.id)", "model": "\(batch.model)", "upstream_name": "\(batch.upstream)"]
        guard let target = upstreams.target(batch.upstream) else {
            // Its upstream was taken out of the configuration: the batch waits (nothing is lost) until it is back.
            logger.error("batch waits for an upstream that is not configured", metadata: metadata)
            try? await store.setAside(batchID: batch.id, holder: leases.holder, retryAt: clock.now() + Self.resumeInterval)
            return true
        }
        let provider = target.provider
        var machine = BatchSubmission(retryDelay: Self.resumeInterval)
        var action = machine.start(inputFileID: batch.inputFileID, recovering: recovering)
        while true {
            do {
                switch action {
                case .lookUpstream:
                    action = machine.lookedUp(try await findUpstream(batch, provider))
                case .upload:
                    let fileID: String
                    if let uploaded = await early?.fileID(for: batch) {
                        fileID = uploaded
                    } else {
                        fileID = try await upload(batch, provider)
                    }
                    metadata["input_file"] = "\(fileID)"
                    action = machine.uploaded(fileID: fileID)
                case .recordUpload(let fileID):
                    try await store.recordUpload(batchID: batch.id, inputFileID: fileID)
                    action = machine.uploadRecorded()
                case .renewLease:
                    action = machine.leaseRenewed(stillHeld: try await leases.renew(batch.id))
                case .create(let fileID):
                    let request = CreateBatchRequest(
                        inputFileID: fileID, endpoint: batch.endpoint, completionWindow: target.completionWindow ?? "24h",
                        metadata: batch.upstreamMetadata, source: fileReader(batch))
                    let upstream = try await configuration.retry.run(clock: clock, onRetry: retryLogger("create", metadata)) {
                        () async throws(ProviderError) in try await provider.createBatch(request)
                    }
                    metadata["upstream"] = "\(upstream.id)"
                    action = machine.created(upstream)
                case .markLive(let upstream):
                    try await store.markLive(
                        batchID: batch.id, upstreamID: upstream.id, upstreamStatus: upstream.status, nextPollAt: clock.now(),
                        now: clock.now())
                    logger.info(recovering ? "batch submitted (found upstream)" : "batch submitted", metadata: metadata)
                    action = machine.markedLive()
                case .abandon:
                    logger.error("batch file could not be uploaded; its requests return to the queue", metadata: metadata)
                    try await store.abandon(batchID: batch.id, now: clock.now())
                    action = machine.settled()
                case .setAside(let retryIn):
                    logger.error(
                        "batch could not be created; it is kept and will be looked for upstream, then tried again", metadata: metadata)
                    try await store.setAside(batchID: batch.id, holder: leases.holder, retryAt: clock.now() + retryIn)
                    action = machine.settled()
                case .release:
                    // Stopping: whoever starts next (this gateway again, or another) takes the batch at once.
                    try await Task { [store, leases] in
                        try await store.setAside(batchID: batch.id, holder: leases.holder, retryAt: 0)
                    }.value
                    action = machine.settled()
                case .finish(let outcome):
                    if outcome == .live {
                        Counter(label: "offpeak_batches_submitted_total").increment()
                        Counter(label: "offpeak_batched_requests_total").increment(by: batch.requestCount)
                        BatchDurations.submitted(seconds: clock.now() - batch.createdAt)
                        onSubmitted()
                    }
                    return outcome != .abandoned
                }
            } catch {
                metadata["error"] = "\(error)"
                action = machine.failed(Task.isCancelled ? .cancelled : .error)
            }
        }
    }

    private func findUpstream(_ batch: BatchRecord, _ provider: any BatchProvider) async throws -> UpstreamBatch? {
        guard batch.inputFileID != nil else { return nil }
        let recent = try await configuration.retry.run(clock: clock) { () async throws(ProviderError) in
            try await provider.recentBatches(limit: 100)
        }
        return recent.first { $0.metadata[BatchRecord.metadataKey] == batch.id }
    }

    /// Reads the batch's JSONL from the store, from its first line, each time it is called.
    private func fileReader(_ batch: BatchRecord) -> @Sendable () -> ChunkReader {
        let store = self.store
        let batchID = batch.id
        return {
            let cursor = LineCursor(store: store, batchID: batchID)
            return { try await cursor.next() }
        }
    }

    private func upload(_ batch: BatchRecord, _ provider: any BatchProvider) async throws -> String {
        let makeReader = fileReader(batch)
        return try await configuration.retry.run(clock: clock, onRetry: retryLogger("upload", ["batch": "\(batch.id)"])) {
            () async throws(ProviderError) in
            try await provider.uploadBatchFile(filename: "\(batch.id).jsonl", size: batch.fileBytes, makeReader: makeReader)
        }
    }

    private func retryLogger(_ step: String, _ metadata: Logger.Metadata) -> (ProviderError, Int, Double) -> Void {
        { [logger] error, attempt, wait in
            var metadata = metadata
            metadata["error"] = "\(error)"
            metadata["attempt"] = "\(attempt)"
            metadata["retry_in"] = "\(wait)"
            logger.warning("provider \(step) failed; retrying", metadata: metadata)
        }
    }
}

/// Reads a batch's file from the store a chunk at a time, as the store renders it.
/// Pulled by one upload stream, one chunk after another.
actor LineCursor {
    /// Lines read from the store per chunk of an upload (some 600 KB of a typical file).
    static let chunkLines = 512

    private let store: any BatchQueue
    private let batchID: String
    private var after = 0

    init(store: any BatchQueue, batchID: String) {
        self.store = store
        self.batchID = batchID
    }

    func next() async throws -> ByteBuffer? {
        guard let chunk = try await store.batchFile(batchID: batchID, after: after, limit: Self.chunkLines) else { return nil }
        after = chunk.lastLine
        return chunk.bytes
    }
}
