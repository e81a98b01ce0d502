/// Where a batch of ours stands. A batch is created locally first, so that a crash between
/// upload and create can be recovered without placing a request in two live upstream batches.
public enum BatchState: String, Sendable {
    /// Requests claimed; file not yet uploaded or batch not yet created upstream.
    case preparing
    /// Created upstream; being polled.
    case live
    /// Terminal upstream and every row's outcome applied.
    case ended
    /// Never reached the provider; its requests went back to the queue.
    case abandoned
}

public struct BatchRecord: Sendable, Equatable {
    public var id: String
    /// The upstream it was (or will be) created at.
    public var upstream: String
    public var endpoint: String
    public var model: String
    public var state: BatchState
    public var requestCount: Int
    /// Size of the JSONL file, known before it is written.
    public var fileBytes: Int
    public var createdAt: Timestamp
    public var inputFileID: String?
    public var upstreamID: String?
    public var upstreamStatus: UpstreamBatchStatus?
    public var nextPollAt: Timestamp?
    public var endedAt: Timestamp?
    /// When it was created upstream.
    public var submittedAt: Timestamp?
    public var outputFileID: String?
    public var errorFileID: String?
    /// The provider's progress while it runs; once ended, what Offpeak settled.
    public var counts: BatchCounts?
    /// Set when an operator cancelled it.
    public var cancelled: OperatorCancel?

    public init(
        id: String, upstream: String = Upstream.defaultName, endpoint: String, model: String, state: BatchState = .preparing,
        requestCount: Int,
        fileBytes: Int, createdAt: Timestamp, inputFileID: String? = nil, upstreamID: String? = nil,
        upstreamStatus: UpstreamBatchStatus? = nil, nextPollAt: Timestamp? = nil, endedAt: Timestamp? = nil,
        submittedAt: Timestamp? = nil, outputFileID: String? = nil, errorFileID: String? = nil, counts: BatchCounts? = nil,
        cancelled: OperatorCancel? = nil
    ) {
        self.cancelled = cancelled
        self.submittedAt = submittedAt
        self.outputFileID = outputFileID
        self.errorFileID = errorFileID
        self.counts = counts
        self.id = id
        self.upstream = upstream
        self.endpoint = endpoint
        self.model = model
        self.state = state
        self.requestCount = requestCount
        self.fileBytes = fileBytes
        self.createdAt = createdAt
        self.inputFileID = inputFileID
        self.upstreamID = upstreamID
        self.upstreamStatus = upstreamStatus
        self.nextPollAt = nextPollAt
        self.endedAt = endedAt
    }
}

/// A group is (endpoint, model): a file never mixes groups.
/// A batch's request counts (`request_counts`).
public struct BatchCounts: Sendable, Equatable {
    public var total: Int
    public var completed: Int
    public var failed: Int

    public init(total: Int, completed: Int, failed: Int) {
        self.total = total
        self.completed = completed
        self.failed = failed
    }
}

/// What a poll learnt of a live batch (nil fields: not reported, keep what is known), or how it ended.
public struct BatchProgress: Sendable, Equatable {
    public var status: UpstreamBatchStatus
    public var counts: BatchCounts?
    public var outputFileID: String?
    public var errorFileID: String?

    public init(status: UpstreamBatchStatus, counts: BatchCounts? = nil, outputFileID: String? = nil, errorFileID: String? = nil) {
        self.status = status
        self.counts = counts
        self.outputFileID = outputFileID
        self.errorFileID = errorFileID
    }

    public init(_ upstream: UpstreamBatch) {
        self.init(status: upstream.status, counts: upstream.requestCounts, outputFileID: upstream.outputFileID, errorFileID: upstream.errorFileID)
    }
}

/// What a batch file holds: one upstream, one endpoint, one model.
public struct GroupKey: Sendable, Hashable, CustomStringConvertible {
    public var upstream: String
    public var endpoint: String
    public var model: String

    public init(upstream: String = Upstream.defaultName, endpoint: String, model: String) {
        self.upstream = upstream
        self.endpoint = endpoint
        self.model = model
    }

    public var description: String { upstream == Upstream.defaultName ? "\(model) \(endpoint)" : "\(model) \(endpoint) at \(upstream)" }
}

/// The queued side of one group, as the flush policy sees it.
public struct GroupBacklog: Sendable, Equatable {
    public var key: GroupKey
    public var count: Int
    /// Sum of the JSONL line sizes of the queued requests.
    public var lineBytes: Int
    public var oldestCreatedAt: Timestamp

    public init(key: GroupKey, count: Int, lineBytes: Int, oldestCreatedAt: Timestamp) {
        self.key = key
        self.count = count
        self.lineBytes = lineBytes
        self.oldestCreatedAt = oldestCreatedAt
    }
}

extension BatchRecord {
    /// The record as a poll leaves it (what the poll did not report is kept).
    public mutating func apply(_ progress: BatchProgress) {
        upstreamStatus = progress.status
        counts = progress.counts ?? counts
        outputFileID = progress.outputFileID ?? outputFileID
        errorFileID = progress.errorFileID ?? errorFileID
    }
}
