import Synchronization

/// A store held in memory: for tests of the workers and the routes, held to the same conformance
/// suite as SQLite and PostgreSQL. Nothing survives the process; every call is atomic under one lock.
public final class MemoryStore: DeferredStore {
    struct Entry {
        var record: DeferredRequest
        var seq: Int
        var body: [UInt8]
        var lineBytes: Int
        var batchLine: Int?
        var deliveryNextAt: Timestamp?
        var deliverySeriesAttempts = 0
    }

    struct BatchEntry {
        var record: BatchRecord
        var leaseHolder: String?
    }

    struct State {
        var requests: [String: Entry] = [:]
        /// Ids in acceptance order.
        var order: [String] = []
        var keys: [String: String] = [:]
        /// The usage ledger, by request id and lane.
        var usage: [String: UsageRecord] = [:]
        var paused: Set<GroupKey> = []
        /// Placements requests left for the queue again, by request id.
        var attempts: [String: [Attempt]] = [:]
        var batches: [String: BatchEntry] = [:]
        var settings: [String: String] = [:]
        var values: [String: ExpiringValue] = [:]
        /// Set by a test: the fault every write meets.
        var fault: StoreFault?
    }

    let state = Mutex(State())

    public init() {}

    public func migrate() async throws {}
    public func ping() async throws {}

    /// Makes writes (accepts, stored values, settles) fail with `fault` until called with nil: the
    /// store faults of a real disk or server, for route and worker tests.
    public func injectFault(_ fault: StoreFault?) {
        state.withLock { $0.fault = fault }
    }

    // MARK: RequestStore

    public func accept(_ new: NewDeferredRequest) async throws -> AcceptResult {
        try state.withLock { state in
            if let fault = state.fault { throw fault }
            let record = new.record
            let keyName = record.idempotencyKey.map { "\(record.owner)\u{0}\($0)" }
            if let keyName, let id = state.keys[keyName], let existing = state.requests[id]?.record {
                return existing.bodyDigest == record.bodyDigest ? .existing(existing) : .conflict(existing)
            }
            var stored = record
            stored.status = .queued
            stored.attempts = 0
            state.requests[record.id] = Entry(record: stored, seq: state.order.count + 1, body: new.body, lineBytes: new.lineBytes)
            state.order.append(record.id)
            if let keyName { state.keys[keyName] = record.id }
            return .created(stored)
        }
    }

    public func request(id: String, owner: String) async throws -> DeferredRequest? {
        state.withLock { state in state.requests[id].flatMap { $0.record.owner == owner ? $0.record : nil } }
    }

    public func list(_ query: ListQuery) async throws -> ListPage {
        state.withLock { state in
            var below = Int.max
            if let after = query.after {
                below = state.requests[after].flatMap { $0.record.owner == query.owner ? $0.seq : nil } ?? 0
            }
            var page: [DeferredRequest] = []
            for id in state.order.reversed() {
                guard page.count <= query.limit, let entry = state.requests[id] else { break }
                let record = entry.record
                guard entry.seq < below, record.owner == query.owner, query.status.map({ $0 == record.status }) ?? true,
                    query.model.map({ $0 == record.model }) ?? true
                else { continue }
                page.append(record)
            }
            return ListPage(data: Array(page.prefix(query.limit)), hasMore: page.count > query.limit)
        }
    }

    public func cancel(id: String, owner: String, now: Timestamp) async throws -> CancelResult {
        state.withLock { state in
            guard var entry = state.requests[id], entry.record.owner == owner else { return .notFound }
            guard entry.record.status == .queued else { return .notQueued(entry.record) }
            entry.record.status = .cancelled
            entry.record.completedAt = now
            state.requests[id] = entry
            return .cancelled(entry.record)
        }
    }

    public func withdraw(id: String, now: Timestamp, reason: String) async throws -> Bool {
        state.withLock { state in
            guard var entry = state.requests[id], entry.record.status == .queued else { return false }
            entry.record.status = .cancelled
            entry.record.completedAt = now
            entry.record.servedBy = .realtimeFallback
            entry.record.servedReason = reason
            state.requests[id] = entry
            return true
        }
    }

    public func recordRealtimeAnswer(id: String, _ answer: RealtimeAnswer, now: Timestamp) async throws -> Bool {
        state.withLock { state in
            guard var entry = state.requests[id] else { return false }
            state.record(entry.record, answer.finish, now: now)
            switch answer {
            case .result(let finish):
                guard entry.record.status == .cancelled, entry.record.servedBy == .realtimeFallback else { return false }
                Self.apply(finish, to: &entry, now: now)
            case .noted(let finish):
                guard !entry.record.status.isTerminal else { return false }
                entry.record.servedBy = .realtimeFallback
                entry.record.servedReason = finish.servedReason
            }
            state.requests[id] = entry
            return true
        }
    }

    static func apply(_ finish: RequestFinish, to entry: inout Entry, now: Timestamp) {
        entry.record.apply(finish, now: now)
        if finish.deliveryDue { entry.deliveryNextAt = now }
    }

    // MARK: BatchQueue

    public func backlogs() async throws -> [GroupBacklog] {
        state.withLock { state in
            var backlogs: [GroupKey: GroupBacklog] = [:]
            for id in state.order {
                guard let entry = state.requests[id], entry.record.status == .queued else { continue }
                let key = GroupKey(upstream: entry.record.upstream, endpoint: entry.record.endpoint, model: entry.record.model)
                var backlog = backlogs[key] ?? GroupBacklog(key: key, count: 0, lineBytes: 0, oldestCreatedAt: entry.record.createdAt)
                backlog.count += 1
                backlog.lineBytes += entry.lineBytes
                backlog.oldestCreatedAt = min(backlog.oldestCreatedAt, entry.record.createdAt)
                backlogs[key] = backlog
            }
            return Array(backlogs.values)
        }
    }

    public func claimBatch(id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease) async throws -> BatchRecord? {
        state.withLock { state in
            var candidates: [String] = []
            for requestID in state.order where candidates.count < policy.maxRequests {
                guard let record = state.requests[requestID]?.record, record.status == .queued, record.endpoint == group.endpoint,
                    record.model == group.model, record.upstream == group.upstream
                else { continue }
                candidates.append(requestID)
            }
            let (count, bytes) = policy.take(lineSizes: candidates.map { state.requests[$0]!.lineBytes })
            guard count > 0 else { return nil }
            for (index, requestID) in candidates.prefix(count).enumerated() {
                state.requests[requestID]!.record.status = .submitted
                state.requests[requestID]!.record.batchID = id
                state.requests[requestID]!.record.attempts += 1
                state.requests[requestID]!.record.submittedAt = now
                state.requests[requestID]!.batchLine = index + 1
            }
            let batch = BatchRecord(
                id: id, upstream: group.upstream, endpoint: group.endpoint, model: group.model, requestCount: count, fileBytes: bytes,
                createdAt: now, nextPollAt: lease.until)
            state.batches[id] = BatchEntry(record: batch, leaseHolder: lease.holder)
            return batch
        }
    }

    public func claimStalledBatches(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        claim(limit: limit, lease: lease) { batch in
            batch.state == .preparing && (batch.nextPollAt ?? 0) <= now
        } order: { $0.createdAt < $1.createdAt }
    }

    public func batchFile(batchID: String, after: Int, limit: Int) async throws -> BatchFileChunk? {
        state.withLock { state in
            let lines = state.order.compactMap { id -> (line: Int, entry: Entry)? in
                guard let entry = state.requests[id], entry.record.batchID == batchID, let line = entry.batchLine, line > after
                else { return nil }
                return (line, entry)
            }
            var writer = BatchFileWriter()
            for (line, entry) in lines.sorted(by: { $0.line < $1.line }).prefix(limit) {
                entry.body.withUnsafeBytes { writer.append(line: line, id: entry.record.id, endpoint: entry.record.endpoint, body: $0) }
            }
            return writer.finish()
        }
    }

    public func recordUpload(batchID: String, inputFileID: String) async throws {
        state.withLock { $0.batches[batchID]?.record.inputFileID = inputFileID }
    }

    public func markLive(batchID: String, upstreamID: String, upstreamStatus: UpstreamBatchStatus, nextPollAt: Timestamp, now: Timestamp)
        async throws
    {
        state.withLock { state in
            Self.release(batchID, in: &state) { batch in
                batch.state = .live
                batch.upstreamID = upstreamID
                batch.upstreamStatus = upstreamStatus
                batch.nextPollAt = nextPollAt
                batch.submittedAt = now
            }
            for (id, entry) in state.requests where entry.record.batchID == batchID && entry.record.status == .submitted {
                state.requests[id]!.record.upstreamBatchID = upstreamID
            }
        }
    }

    public func setAside(batchID: String, holder: String, retryAt: Timestamp) async throws {
        state.withLock { state in
            guard var batch = state.batches[batchID], batch.leaseHolder == holder, batch.record.state == .preparing else { return }
            batch.record.nextPollAt = retryAt
            batch.leaseHolder = nil
            state.batches[batchID] = batch
        }
    }

    public func abandon(batchID: String, now: Timestamp) async throws {
        state.withLock { state in
            for (id, entry) in state.requests where entry.record.batchID == batchID && entry.record.status == .submitted {
                Self.requeue(&state.requests[id]!, refund: 1, floor: true)
            }
            Self.release(batchID, in: &state) { batch in
                batch.state = .abandoned
                batch.endedAt = now
                batch.nextPollAt = nil
            }
        }
    }

    /// Changes a batch and gives its lease up.
    static func release(_ batchID: String, in state: inout State, _ change: (inout BatchRecord) -> Void) {
        guard var batch = state.batches[batchID] else { return }
        change(&batch.record)
        batch.leaseHolder = nil
        state.batches[batchID] = batch
    }

    static func requeue(_ entry: inout Entry, refund: Int, floor: Bool = false) {
        entry.record.status = .queued
        entry.record.batchID = nil
        entry.batchLine = nil
        entry.record.upstreamBatchID = nil
        entry.record.submittedAt = nil
        entry.record.attempts = floor ? max(0, entry.record.attempts - refund) : entry.record.attempts - refund
    }

    public func renewLease(batchID: String, lease: Lease) async throws -> Bool {
        state.withLock { state in
            guard var batch = state.batches[batchID], batch.leaseHolder == lease.holder,
                batch.record.state == .preparing || batch.record.state == .live
            else { return false }
            batch.record.nextPollAt = lease.until
            state.batches[batchID] = batch
            return true
        }
    }

    /// Leases the batches `matching` to the caller, at most `limit`, in `order`.
    private func claim(
        limit: Int, lease: Lease, matching: (BatchRecord) -> Bool,
        order: (BatchRecord, BatchRecord) -> Bool
    ) -> [BatchRecord] {
        state.withLock { state in
            let due = state.batches.values.map(\.record).filter(matching).sorted(by: order).prefix(limit)
            return due.map { batch in
                state.batches[batch.id]!.record.nextPollAt = lease.until
                state.batches[batch.id]!.leaseHolder = lease.holder
                return state.batches[batch.id]!.record
            }
        }
    }

    // MARK: LiveBatches

    public func nextPollAt() async throws -> Timestamp? {
        state.withLock { state in
            state.batches.values.filter { $0.record.state == .live }.compactMap(\.record.nextPollAt).min()
        }
    }

    public func claimDuePolls(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        claim(limit: limit, lease: lease) { batch in
            batch.state == .live && (batch.nextPollAt.map { $0 <= now } ?? false)
        } order: { ($0.nextPollAt ?? 0) < ($1.nextPollAt ?? 0) }
    }

    public func recordPoll(batchID: String, progress: BatchProgress, nextPollAt: Timestamp) async throws {
        state.withLock { state in
            Self.release(batchID, in: &state) { batch in
                batch.apply(progress)
                batch.nextPollAt = nextPollAt
            }
        }
    }

    public func openBatchCounts() async throws -> [String: Int] {
        state.withLock { state in
            var counts: [String: Int] = [:]
            for entry in state.batches.values where entry.record.state == .preparing || entry.record.state == .live {
                counts[entry.record.status, default: 0] += 1
            }
            return counts
        }
    }

    public func pendingMembers(batchID: String) async throws -> [String: BatchMember] {
        state.withLock { state in
            var members: [String: BatchMember] = [:]
            for (id, entry) in state.requests where entry.record.batchID == batchID && entry.record.status == .submitted {
                members[id] = BatchMember(
                    line: entry.batchLine ?? 0, attempts: entry.record.attempts, hasCallback: entry.record.callbackURL != nil,
                    servedBy: entry.record.servedBy)
            }
            return members
        }
    }

    public func settle(batchID: String, _ settlements: [(id: String, settlement: Settlement)], now: Timestamp) async throws
        -> Set<String>
    {
        try state.withLock { state in
            if let fault = state.fault { throw fault }
            var finished: Set<String> = []
            for (id, settlement) in settlements {
                guard var entry = state.requests[id], entry.record.batchID == batchID, entry.record.status == .submitted else {
                    continue
                }
                switch settlement {
                case .finish(let finish):
                    Self.apply(finish, to: &entry, now: now)
                    state.record(entry.record, finish, now: now)
                    finished.insert(id)
                case .requeue(let reason, let refund):
                    state.attempts[id, default: []].append(
                        Attempt(
                            batchID: batchID, upstreamBatchID: entry.record.upstreamBatchID, line: entry.batchLine, outcome: .requeued,
                            reason: reason, at: now))
                    Self.requeue(&entry, refund: refund ? 1 : 0)
                }
                state.requests[id] = entry
            }
            return finished
        }
    }

    public func endBatch(batchID: String, progress: BatchProgress, now: Timestamp) async throws {
        state.withLock { state in
            var settled = (completed: 0, failed: 0)
            for entry in state.requests.values where entry.record.batchID == batchID {
                if entry.record.status == .completed { settled.completed += 1 }
                if entry.record.status == .failed { settled.failed += 1 }
            }
            Self.release(batchID, in: &state) { batch in
                batch.apply(progress)
                batch.state = .ended
                batch.endedAt = now
                batch.nextPollAt = nil
                batch.counts = BatchCounts(total: batch.requestCount, completed: settled.completed, failed: settled.failed)
            }
        }
    }

    // MARK: DeliveryQueue

    public func claimDeliveries(now: Timestamp, limit: Int, lease: Double) async throws -> [DeliveryJob] {
        state.withLock { state in
            let due = state.requests.values
                .filter { $0.record.delivery.status == .pending && ($0.deliveryNextAt.map { $0 <= now } ?? false) }
                .sorted { $0.deliveryNextAt! < $1.deliveryNextAt! }
                .prefix(limit)
            return due.map { entry in
                state.requests[entry.record.id]!.deliveryNextAt = now + lease
                return DeliveryJob(request: entry.record, seriesAttempts: entry.deliverySeriesAttempts)
            }
        }
    }

    public func recordDelivery(id: String, status: DeliveryStatus, statusCode: Int?, error: String?, next: Timestamp?) async throws {
        state.withLock { state in
            guard var entry = state.requests[id] else { return }
            entry.record.delivery.status = status
            entry.record.delivery.attempts += 1
            entry.record.delivery.lastStatusCode = statusCode
            entry.record.delivery.lastError = error
            entry.deliverySeriesAttempts += 1
            entry.deliveryNextAt = next
            state.requests[id] = entry
        }
    }

    public func nextDeliveryAt() async throws -> Timestamp? {
        state.withLock { state in
            state.requests.values.filter { $0.record.delivery.status == .pending }.compactMap(\.deliveryNextAt).min()
        }
    }

    public func restartDelivery(id: String, owner: String, expected: DeferredStatus, now: Timestamp) async throws -> Bool {
        state.withLock { state in
            guard var entry = state.requests[id], entry.record.owner == owner, entry.record.status == expected,
                entry.record.callbackURL != nil
            else { return false }
            entry.record.delivery.status = .pending
            entry.deliveryNextAt = now
            entry.deliverySeriesAttempts = 0
            state.requests[id] = entry
            return true
        }
    }

    // MARK: SettingsStore

    public func setting(_ key: String, default value: String) async throws -> String {
        state.withLock { state in
            if let stored = state.settings[key] { return stored }
            state.settings[key] = value
            return value
        }
    }
}

// MARK: KeyValueStore

extension MemoryStore {
    public func putValue(_ value: String, forKey key: String, expiresAt: Timestamp?, onlyIfAbsent: Bool, now: Timestamp) async throws -> Bool {
        try state.withLock { state in
            if let fault = state.fault { throw fault }
            state.values = state.values.filter { $0.value.expiresAt.map { $0 > now } ?? true }
            let existing = state.values[key]
            if onlyIfAbsent, existing != nil { return false }
            state.values[key] = ExpiringValue(value: value, expiresAt: expiresAt ?? existing?.expiresAt)
            return true
        }
    }

    public func value(forKey key: String, now: Timestamp) async throws -> ExpiringValue? {
        state.withLock { state in state.values[key].flatMap { $0.expiresAt.map { $0 > now } ?? true ? $0 : nil } }
    }

    public func removeValue(forKey key: String) async throws {
        state.withLock { _ = $0.values.removeValue(forKey: key) }
    }
}

// MARK: OperatorViews

extension MemoryStore {
    public func batch(id: String) async throws -> BatchRecord? {
        state.withLock { $0.batches[id]?.record }
    }

    public func trace(requestID: String) async throws -> RequestTrace? {
        state.withLock { state in
            guard let entry = state.requests[requestID] else { return nil }
            let current = Attempt.current(of: entry.record, line: entry.batchLine).map { [$0] } ?? []
            return RequestTrace(request: entry.record, attempts: (state.attempts[requestID] ?? []) + current)
        }
    }

    public func listDeliveries(_ query: DeliveryListQuery) async throws -> ListPage {
        state.withLock { state in
            let below = query.after.map { state.requests[$0]?.seq ?? 0 } ?? Int.max
            let matching = state.order.reversed().compactMap { state.requests[$0] }.filter { entry in
                entry.seq < below && entry.record.callbackURL != nil && (query.status.map { $0 == entry.record.delivery.status } ?? true)
            }
            return ListPage(data: matching.prefix(query.limit).map(\.record), hasMore: matching.count > query.limit)
        }
    }

    public func stats(from: Timestamp, to: Timestamp) async throws -> [ModelStats] {
        let requests = state.withLock { $0.requests.values.map(\.record) }
        return ModelStats.of(requests, from: from, to: to)
    }

    public func listBatches(_ query: BatchListQuery) async throws -> BatchListPage {
        state.withLock { state in
            let newestFirst = state.batches.values.map(\.record).sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
            var page = newestFirst.filter(query.matches)
            if let after = query.after {
                guard let cursor = state.batches[after]?.record else { return BatchListPage(data: [], hasMore: false) }
                page = page.filter { ($0.createdAt, $0.id) < (cursor.createdAt, cursor.id) }
            }
            return BatchListPage(data: Array(page.prefix(query.limit)), hasMore: page.count > query.limit)
        }
    }
}

// MARK: QueueControl

extension MemoryStore {
    public func pausedGroups() async throws -> Set<GroupKey> {
        state.withLock { $0.paused }
    }

    public func recordCancel(batchID: String, _ cancel: OperatorCancel?) async throws -> Bool {
        state.withLock { state in
            guard state.batches[batchID]?.record.state == .live else { return false }
            state.batches[batchID]?.record.cancelled = cancel
            return true
        }
    }

    public func operatorCancel(batchID: String) async throws -> OperatorCancel? {
        state.withLock { $0.batches[batchID]?.record.cancelled }
    }

    public func setPaused(_ groups: [GroupKey], paused: Bool, now: Timestamp) async throws {
        state.withLock { state in
            if paused { state.paused.formUnion(groups) } else { state.paused.subtract(groups) }
        }
    }
}

// MARK: UsageLedger

extension MemoryStore {
    public func record(_ records: [UsageRecord]) async throws {
        state.withLock { state in
            for record in records { state.insert(record) }
        }
    }

    public func usageTallies(_ query: UsageQuery) async throws -> [UsageTally] {
        let records = state.withLock { Array($0.usage.values) }
        return UsageTally.tallies(of: records, for: query)
    }
}

extension MemoryStore.State {
    /// The ledger's record of `request` ended by `finish`.
    mutating func record(_ request: DeferredRequest, _ finish: RequestFinish, now: Timestamp) {
        guard
            let record = UsageRecord(
                requestID: request.id, owner: request.owner, upstream: request.upstream, model: request.model,
                endpoint: request.endpoint, finish: finish, now: now)
        else { return }
        insert(record)
    }

    mutating func insert(_ record: UsageRecord) {
        let key = record.requestID + "\u{0}" + record.lane.rawValue
        if usage[key] == nil { usage[key] = record }
    }
}

// MARK: Queue bounds

extension MemoryStore {
    public func queuedCounts(byOwner: Bool) async throws -> QueuedCounts {
        state.withLock { state in
            var counts = QueuedCounts()
            for entry in state.requests.values where entry.record.status == .queued {
                counts.total += 1
                if byOwner { counts.byOwner[entry.record.owner, default: 0] += 1 }
            }
            return counts
        }
    }
}

// MARK: Retention

extension MemoryStore {
    public func purgeBodies(endedBefore: Timestamp, limit: Int, now: Timestamp) async throws -> Int {
        state.withLock { state in
            let due = state.requests.values
                .filter { $0.record.status.isTerminal && $0.record.purgedAt == nil && ($0.record.completedAt ?? now) < endedBefore }
                .sorted { ($0.record.completedAt ?? 0) < ($1.record.completedAt ?? 0) }
                .prefix(limit).map(\.record.id)
            for id in due { Self.purge(&state.requests[id]!, now: now) }
            return due.count
        }
    }

    public func purgeBodies(id: String, owner: String, now: Timestamp) async throws -> PurgeResult {
        state.withLock { state in
            guard var entry = state.requests[id], entry.record.owner == owner else { return .notFound }
            guard entry.record.status.isTerminal else { return .notEnded(entry.record) }
            if entry.record.purgedAt == nil { Self.purge(&entry, now: now) }
            state.requests[id] = entry
            return .purged(entry.record)
        }
    }

    static func purge(_ entry: inout Entry, now: Timestamp) {
        entry.body = []
        entry.record.response?.body = []
        entry.record.purgedAt = now
    }
}
