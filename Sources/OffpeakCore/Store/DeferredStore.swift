import ServiceLifecycle

/// Everything the front and the workers keep. The workers see only this protocol, so that the
/// embedded SQLite store and a shared PostgreSQL store are interchangeable.
public protocol DeferredStore: Sendable {
    /// Cheap check that the store answers (readiness).
    func ping() async throws

    // MARK: Intake and results

    /// Commits a new request durably before returning, or finds the one its idempotency key names.
    func accept(_ request: NewDeferredRequest) async throws -> AcceptResult
    /// The request with this id if `owner` created it.
    func request(id: String, owner: String) async throws -> DeferredRequest?
    func list(_ query: ListQuery) async throws -> ListPage
    /// Cancels a request that is still queued.
    func cancel(id: String, owner: String, now: Timestamp) async throws -> CancelResult

    // MARK: Real-time fallback (deferral policies)

    /// Takes a request that is still queued out of the queue, to be answered from real time
    /// instead: it will never be placed in a batch. False if it was already submitted (or ended).
    func withdraw(id: String, now: Timestamp, reason: String) async throws -> Bool
    /// Records an answer obtained from real time. A withdrawn request takes it as its result; one
    /// that is in a batch only notes that it was served from real time (its batch result follows).
    func recordRealtimeAnswer(id: String, response: StoredResponse, usage: TokenUsage?, now: Timestamp, reason: String)
        async throws

    // MARK: Flusher

    /// The queued requests of each group, summed.
    func backlogs() async throws -> [GroupBacklog]
    /// Takes the oldest queued requests of a group (as many as the policy allows in one file) into a
    /// new batch in state `preparing`, leased to the caller. Each one's attempts grow by one. Nil when
    /// nothing is queued. Concurrent claimers (other instances) never take the same request.
    func claimBatch(id: String, group: GroupKey, policy: FlushPolicy, now: Timestamp, lease: Lease) async throws -> BatchRecord?
    /// `preparing` batches nobody holds (their flusher stopped, died, or set them aside until a time
    /// now past), leased to the caller: at most `limit`, oldest first.
    func claimStalledBatches(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord]
    /// The lines of a batch, in file order, `limit` at a time after line `after` (1-based lines).
    func batchLines(batchID: String, after: Int, limit: Int) async throws -> [BatchLineSource]
    func batches(in state: BatchState) async throws -> [BatchRecord]
    func recordUpload(batchID: String, inputFileID: String) async throws
    func markLive(batchID: String, upstreamID: String, upstreamStatus: String, nextPollAt: Timestamp, now: Timestamp)
        async throws
    /// The batch never reached the provider: its requests go back to the queue, attempts refunded.
    func abandon(batchID: String, now: Timestamp) async throws

    // MARK: Poller

    /// The earliest time a live batch is due to be polled.
    func nextPollAt() async throws -> Timestamp?
    /// Live batches due for a poll that nobody holds, leased to the caller: at most `limit`, most
    /// overdue first. `recordPoll` and `endBatch` give the lease up.
    func claimDuePolls(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord]
    /// Extends a lease the caller still holds; false if it has lost it (it ran out and another
    /// instance took the batch), in which case the caller must stop working on the batch.
    func renewLease(batchID: String, lease: Lease) async throws -> Bool
    /// Gives up a `preparing` batch until `retryAt`, when any instance may take it again.
    func setAside(batchID: String, holder: String, retryAt: Timestamp) async throws
    func recordPoll(batchID: String, upstreamStatus: String, nextPollAt: Timestamp) async throws
    /// The requests still waiting on this batch: id → (line number, attempts).
    func pendingMembers(batchID: String) async throws -> [String: BatchMember]
    /// Applies outcomes to requests still waiting on this batch; others are left alone, so that
    /// applying the same file twice (after a crash) changes nothing. Returns the requests that
    /// reached a terminal status.
    func settle(batchID: String, outcomes: [(id: String, disposition: RowDisposition)], now: Timestamp)
        async throws -> [SettledRequest]
    func endBatch(batchID: String, upstreamStatus: String, now: Timestamp) async throws

    // MARK: Dispatcher

    /// Takes up to `limit` callbacks that are due, leasing each for `lease` seconds so that no other
    /// attempt starts meanwhile; one whose attempt never reports (a crash) is taken again after it.
    func claimDeliveries(now: Timestamp, limit: Int, lease: Double) async throws -> [DeliveryJob]
    /// Records one attempt: `next` is when to try again, nil when the series is over.
    func recordDelivery(id: String, status: DeliveryStatus, statusCode: Int?, error: String?, next: Timestamp?) async throws
    /// The earliest time a pending callback is due.
    func nextDeliveryAt() async throws -> Timestamp?
    /// Starts a new series of attempts for a finished request's callback (same event id).
    func redeliver(id: String, owner: String, now: Timestamp) async throws -> RedeliverResult

    // MARK: Settings

    /// Stores `value` under `key` unless a value is there; returns the value in force.
    func setting(_ key: String, default value: String) async throws -> String

    // MARK: Upkeep

    /// What the store needs running beside the workers while it is in use (connections,
    /// checkpoints); the gateway runs them with its own services.
    var services: [any Service] { get }
}

extension DeferredStore {
    public var services: [any Service] { [] }
}

/// Who holds a batch, and until when. A lease that runs out lets another instance take the batch
/// over: the way work held by a stopped or killed gateway is finished by the others.
public struct Lease: Sendable, Equatable {
    public var holder: String
    public var until: Timestamp

    public init(holder: String, until: Timestamp) {
        self.holder = holder
        self.until = until
    }
}

public struct DeliveryJob: Sendable {
    public var request: DeferredRequest
    /// Attempts already made in the current series.
    public var seriesAttempts: Int

    public init(request: DeferredRequest, seriesAttempts: Int) {
        self.request = request
        self.seriesAttempts = seriesAttempts
    }
}

public enum RedeliverResult: Sendable, Equatable {
    case queued(DeferredRequest)
    case notFinished(DeferredRequest)
    case noCallback(DeferredRequest)
    case notFound
}

/// A request that has just finished, as the workers that react to it need it.
public struct SettledRequest: Sendable, Equatable {
    public var id: String
    public var status: DeferredStatus
    public var hasCallback: Bool

    public init(id: String, status: DeferredStatus, hasCallback: Bool) {
        self.id = id
        self.status = status
        self.hasCallback = hasCallback
    }
}

public enum AcceptResult: Sendable {
    case created(DeferredRequest)
    /// The same idempotency key and the same body: the earlier request.
    case existing(DeferredRequest)
    /// The same idempotency key with another body.
    case conflict(DeferredRequest)
}

public enum CancelResult: Sendable, Equatable {
    case cancelled(DeferredRequest)
    case notQueued(DeferredRequest)
    case notFound
}

public struct ListQuery: Sendable {
    public var owner: String
    public var status: DeferredStatus?
    public var model: String?
    public var limit: Int
    /// Continue after this id (newest first).
    public var after: String?

    public init(owner: String, status: DeferredStatus? = nil, model: String? = nil, limit: Int = 20, after: String? = nil) {
        self.owner = owner
        self.status = status
        self.model = model
        self.limit = limit
        self.after = after
    }
}

public struct ListPage: Sendable {
    public var data: [DeferredRequest]
    public var hasMore: Bool

    public init(data: [DeferredRequest], hasMore: Bool) {
        self.data = data
        self.hasMore = hasMore
    }
}

public struct BatchLineSource: Sendable {
    public var line: Int
    public var id: String
    public var endpoint: String
    public var body: [UInt8]

    public init(line: Int, id: String, endpoint: String, body: [UInt8]) {
        self.line = line
        self.id = id
        self.endpoint = endpoint
        self.body = body
    }
}

public struct BatchMember: Sendable, Equatable {
    public var line: Int
    public var attempts: Int

    public init(line: Int, attempts: Int) {
        self.line = line
        self.attempts = attempts
    }
}
