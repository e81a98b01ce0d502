/// Intake and results: what the HTTP front reads and writes for its clients.
public protocol RequestStore: Sendable {
    /// Commits a new request durably before returning, or finds the one its idempotency key names.
    func accept(_ request: NewDeferredRequest) async throws -> AcceptResult
    /// The request with this id if `owner` created it.
    func request(id: String, owner: String) async throws -> DeferredRequest?
    /// The owner's requests, newest first, a page at a time.
    func list(_ query: ListQuery) async throws -> ListPage
    /// Cancels a request that is still queued.
    func cancel(id: String, owner: String, now: Timestamp) async throws -> CancelResult
    /// Takes a request that is still queued out of the queue, to be answered from real time
    /// instead: it will never be placed in a batch. False if it was already submitted (or ended).
    func withdraw(id: String, now: Timestamp, reason: String) async throws -> Bool
    /// Applies an answer obtained from real time (`RealtimeAnswer` says how, guarded on the state
    /// it expects). False when the request was not in that state.
    @discardableResult
    func recordRealtimeAnswer(id: String, _ answer: RealtimeAnswer, now: Timestamp) async throws -> Bool
    /// How many requests are queued, in all and (when `byOwner`) per owner: the queue's bounds.
    func queuedCounts(byOwner: Bool) async throws -> QueuedCounts
    /// Deletes the request and response bodies of at most `limit` requests that ended before
    /// `endedBefore` (oldest first), marking them purged at `now`; returns how many. Usage
    /// records are kept.
    func purgeBodies(endedBefore: Timestamp, limit: Int, now: Timestamp) async throws -> Int
    /// Deletes the bodies of one request of `owner` now, if it has ended.
    func purgeBodies(id: String, owner: String, now: Timestamp) async throws -> PurgeResult
}

public enum PurgeResult: Sendable, Equatable {
    /// Its bodies are gone (now, or already before).
    case purged(DeferredRequest)
    /// Still queued or in a batch: its bodies are needed.
    case notEnded(DeferredRequest)
    case notFound
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

/// The statements of `queuedCounts`, the same in both SQL stores (the total reads the queue's
/// partial index alone).
public enum QueuedCountSQL {
    public static let total = "SELECT COUNT(*) FROM deferred_requests WHERE status = 'queued'"
    public static let byOwner = "SELECT owner, COUNT(*) AS n FROM deferred_requests WHERE status = 'queued' GROUP BY owner"
}

/// The statements of the purge, the same in both SQL stores: the requests whose bodies may go
/// (ended, not purged yet, before a time), oldest first, read through their partial index.
public enum PurgeSQL {
    /// Equalities joined by `OR`, not `IN (…)`: SQLite evaluates a partial index's condition for
    /// every row written (each accept, claim slice and finish), and for an `IN` list of three or
    /// more values it builds a temporary b-tree each time the statement runs. Written as `IN`, this
    /// condition cost some 7 µs of every accept and 14 µs of every finish (`Benchmarks/notes.md`).
    public static let ended = "(status = 'completed' OR status = 'failed' OR status = 'cancelled')"

    /// Binds the time and the limit.
    public static func due(_ placeholder: (Int) -> String) -> String {
        """
        SELECT seq FROM deferred_requests
        WHERE purged_at IS NULL AND \(ended) AND completed_at < \(placeholder(1))
        ORDER BY completed_at LIMIT \(placeholder(2))
        """
    }
}
