import Logging
import Metrics
import ServiceLifecycle

/// Polls live upstream batches; when one ends, reads its output and error files line by line and
/// applies the outcome rules to every request it held.
public final class Poller<Clock: WorkerClock>: Service {
    public struct Configuration: Sendable {
        public var interval: Double
        public var rules: OutcomeRules
        public var retry: RetryPolicy
        /// Batches polled at once.
        public var concurrency: Int
        /// Seconds a batch being polled or collected stays ours without renewal (see `LeaseKeeper`).
        public var lease: Double
        /// What each settled request cost is recorded with it, in the same write.
        public var prices: PriceTable?
        /// Leave a settled batch's files at the provider (`OFFPEAK_KEEP_UPSTREAM_FILES`); otherwise
        /// its input, output and error files are deleted once every row is settled.
        public var keepUpstreamFiles: Bool

        public init(
            interval: Double, rules: OutcomeRules, retry: RetryPolicy = .init(), concurrency: Int = 4, lease: Double = 30,
            prices: PriceTable? = nil, keepUpstreamFiles: Bool = true
        ) {
            self.keepUpstreamFiles = keepUpstreamFiles
            self.lease = lease
            self.prices = prices
            self.interval = interval
            self.rules = rules
            self.retry = retry
            self.concurrency = max(1, concurrency)
        }
    }

    private let store: any LiveBatches
    private let upstreams: BatchUpstreams
    private let configuration: Configuration
    private let clock: Clock
    private let logger: Logger
    public let doorbell: Doorbell
    private let onTerminal: @Sendable ([SettledRequest]) async -> Void
    private let leases: LeaseKeeper<Clock>

    /// One upstream (`default`).
    public convenience init(
        store: any LiveBatches, provider: any BatchProvider, configuration: Configuration, clock: Clock,
        logger: Logger, doorbell: Doorbell = Doorbell(), onTerminal: @escaping @Sendable ([SettledRequest]) async -> Void
    ) {
        self.init(
            store: store, upstreams: .single(provider, policy: FlushPolicy(), completionWindow: nil), configuration: configuration,
            clock: clock, logger: logger, doorbell: doorbell, onTerminal: onTerminal)
    }

    public init(
        store: any LiveBatches, upstreams: BatchUpstreams, configuration: Configuration, clock: Clock,
        logger: Logger, doorbell: Doorbell = Doorbell(), onTerminal: @escaping @Sendable ([SettledRequest]) async -> Void
    ) {
        self.store = store
        self.upstreams = upstreams
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.doorbell = doorbell
        self.onTerminal = onTerminal
        leases = LeaseKeeper(store: store, clock: clock, duration: configuration.lease, role: "poller", logger: logger)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var backoff = FaultBackoff()
            while !Task.isCancelled {
                var wait = self.configuration.interval
                do {
                    try await self.pollDue()
                    BatchMetrics.shared.record(try await self.store.openBatchCounts())
                    if let next = try await self.store.nextPollAt() {
                        wait = min(wait, max(0.01, next - self.clock.now()))
                    }
                    backoff.succeeded("poll passes succeed again", logger: self.logger)
                } catch {
                    wait = max(wait, backoff.failed(error, "poll pass failed; backing off", logger: self.logger))
                }
                await self.doorbell.wait(seconds: wait, clock: self.clock)
            }
        }
    }

    /// Polls every live batch that is due and that no other instance holds, a bounded number at a time.
    public func pollDue() async throws {
        while true {
            let due = try await store.claimDuePolls(now: clock.now(), lease: leases.fresh(), limit: configuration.concurrency * 4)
            guard !due.isEmpty else { return }
            await poll(due)
        }
    }

    private func poll(_ due: [BatchRecord]) async {
        await withTaskGroup(of: Void.self) { group in
            var iterator = due.makeIterator()
            for _ in 0..<configuration.concurrency {
                guard let batch = iterator.next() else { break }
                group.addTask { await self.poll(batch) }
            }
            while await group.next() != nil {
                guard let batch = iterator.next() else { continue }
                group.addTask { await self.poll(batch) }
            }
        }
    }

    /// Seconds between polls of `batch`: its upstream's cadence, or the configured one.
    func interval(_ batch: BatchRecord) -> Double {
        upstreams.target(batch.upstream)?.pollInterval ?? configuration.interval
    }

    func poll(_ batch: BatchRecord) async {
        _ = await leases.whileHolding(batch.id) { await self.pollHeld(batch) }
    }

    private func pollHeld(_ batch: BatchRecord) async {
        guard let upstreamID = batch.upstreamID else { return }
        let metadata: Logger.Metadata = ["batch": "\(batch.id)", "upstream": "\(upstreamID)"]
        do {
            guard let provider = upstreams.target(batch.upstream)?.provider else {
                throw UnknownUpstream(name: batch.upstream)
            }
            let upstream = try await provider.batch(id: upstreamID)
            guard upstream.isTerminal else {
                if upstream.status != batch.upstreamStatus {
                    logger.info("batch status", metadata: metadata.merging(["status": "\(upstream.status)"]) { $1 })
                }
                try await store.recordPoll(
                    batchID: batch.id, progress: BatchProgress(upstream), nextPollAt: clock.now() + interval(batch))
                return
            }
            logger.info("batch ended", metadata: metadata.merging(["status": "\(upstream.status)"]) { $1 })
            try await collect(batch, upstream)
        } catch {
            var metadata = metadata
            metadata["error"] = "\(error)"
            logger.warning("poll failed; will poll again", metadata: metadata)
            try? await store.recordPoll(
                batchID: batch.id, progress: BatchProgress(status: batch.upstreamStatus ?? .other("unknown")),
                nextPollAt: clock.now() + interval(batch))
        }
    }

    /// Applies the outcome of an ended batch to each request it held.
    public func collect(_ batch: BatchRecord, _ upstream: UpstreamBatch) async throws {
        guard let provider = upstreams.target(batch.upstream)?.provider else { throw UnknownUpstream(name: batch.upstream) }
        let started = clock.now()
        let members = try await store.pendingMembers(batchID: batch.id)
        let cancelled = try await store.operatorCancel(batchID: batch.id)
        let rules = configuration.rules
        let prices = configuration.prices
        // Waiters and callbacks hear of each chunk as it is settled; nothing is held for the whole file.
        let settled = SettledCount()
        if upstream.status == .failed {
            var named: [Int: DeferredError] = [:]
            for error in upstream.errors {
                if let line = error.line { named[line] = DeferredError(code: error.code, message: error.message) }
            }
            let settlements = members.map { id, member in
                let disposition = rules.dispositionAfterValidationFailure(
                    named: named[member.line], anyNamed: !named.isEmpty, attempts: member.attempts)
                return (id: id, settlement: Settlement(disposition, member: member, model: batch.model, prices: prices))
            }
            try await settle(batch, settlements, counting: settled)
        } else {
            let seenIDs = SeenIDs()
            // A chunk is settled while the next is downloaded and read, one settle at a time, in file order.
            let pipeline = SettlePipeline()
            do {
                for fileID in [upstream.outputFileID, upstream.errorFileID].compactMap({ $0 }) {
                    try await provider.readFileLines(id: fileID) { lines in
                        var settlements: [(id: String, settlement: Settlement)] = []
                        settlements.reserveCapacity(lines.count)
                        for raw in lines {
                            guard let line = try? OutputLine.parse(raw), let member = members[line.customID] else {
                                self.logger.warning(
                                    "ignoring an output line that names no request of this batch", metadata: ["batch": "\(batch.id)"])
                                continue
                            }
                            let disposition = rules.disposition(for: line, attempts: member.attempts, cancelled: cancelled)
                            settlements.append((line.customID, Settlement(disposition, member: member, model: batch.model, prices: prices)))
                        }
                        await seenIDs.insert(settlements.map(\.id))
                        let chunk = settlements
                        try await pipeline.next { try await self.settle(batch, chunk, counting: settled) }
                    }
                }
                try await pipeline.finish()
            } catch {
                try? await pipeline.finish()
                throw error
            }
            let seen = await seenIDs.ids
            let missing = members.filter { !seen.contains($0.key) }.map { id, member in
                let disposition = rules.disposition(for: nil, attempts: member.attempts, cancelled: cancelled)
                return (id: id, settlement: Settlement(disposition, member: member, model: batch.model, prices: prices))
            }
            try await settle(batch, missing, counting: settled)
        }
        try await store.endBatch(batchID: batch.id, progress: BatchProgress(upstream), now: clock.now())
        BatchDurations.collected(seconds: clock.now() - started)
        let terminal = await settled.count
        logger.info(
            "batch collected", metadata: ["batch": "\(batch.id)", "requests": "\(members.count)", "terminal": "\(terminal)"])
        if !configuration.keepUpstreamFiles {
            await deleteFiles([batch.inputFileID, upstream.outputFileID, upstream.errorFileID].compactMap { $0 }, of: batch, at: provider)
        }
    }

    /// Deletes a settled batch's files upstream, each retried on its own; one that cannot be
    /// deleted is logged and left (its rows are settled whatever becomes of it). Each file belongs
    /// to this batch alone, so none is used by another.
    private func deleteFiles(_ ids: [String], of batch: BatchRecord, at provider: any BatchProvider) async {
        for id in ids {
            do {
                try await configuration.retry.run(clock: clock) { () async throws(ProviderError) in try await provider.deleteFile(id: id) }
            } catch {
                logger.warning("could not delete a settled batch's file upstream", metadata: ["batch": "\(batch.id)", "file": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// Applies one chunk of settlements, then tells the waiters and the dispatcher of those that finished.
    private func settle(_ batch: BatchRecord, _ settlements: [(id: String, settlement: Settlement)], counting counter: SettledCount)
        async throws
    {
        guard !settlements.isEmpty else { return }
        let finished = try await store.settle(batchID: batch.id, settlements, now: clock.now())
        guard !finished.isEmpty else { return }
        let done = settlements.compactMap { id, settlement -> SettledRequest? in
            guard finished.contains(id), let finish = settlement.finish else { return nil }
            UsageMetrics.record(finish, model: batch.model, upstream: batch.upstream)
            return SettledRequest(id: id, status: finish.status, hasCallback: finish.deliveryDue)
        }
        await counter.add(done.count)
        let completed = done.filter { $0.status == .completed }.count
        Counter(label: "offpeak_deferred_finished_total", dimensions: [("status", "completed")]).increment(by: completed)
        Counter(label: "offpeak_deferred_finished_total", dimensions: [("status", "failed")]).increment(by: done.count - completed)
        await onTerminal(done)
    }
}

/// The custom_ids one collection has read, to find the requests the files left out.
private actor SeenIDs {
    var ids: Set<String> = []
    func insert(_ new: [String]) { ids.formUnion(new) }
}

/// Settles chunks one after another in a task of their own, so that reading the next chunk
/// overlaps settling this one. A settle that fails fails the next call, which stops the reading.
private actor SettlePipeline {
    private var running: Task<Void, any Error>?

    /// Waits for the chunk before (rethrowing its failure), then starts `settle`.
    func next(_ settle: @escaping @Sendable () async throws -> Void) async throws {
        try await running?.value
        running = Task(operation: settle)
    }

    /// Waits for the last chunk.
    func finish() async throws {
        defer { running = nil }
        try await running?.value
    }
}

/// How many requests one collection finished, for its log line.
private actor SettledCount {
    var count = 0
    func add(_ value: Int) { count += value }
}

/// A batch whose upstream is not in the configuration (taken out while the batch ran): it is
/// polled again later, and collected once the upstream is back.
struct UnknownUpstream: Error, CustomStringConvertible {
    let name: String
    var description: String { "upstream '\(name)' is not configured" }
}
