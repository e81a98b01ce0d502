import NIOCore

/// The provider's batch surface, as the workers use it. The HTTP
/// implementation lives in OffpeakProvider; the workers know only this.
public protocol BatchProvider: Sendable {
    /// Uploads a JSONL file of exactly `size` bytes with `purpose=batch`. `makeReader` is called once
    /// per attempt; its reader yields the same bytes each time, pulled as the upload proceeds.
    func uploadBatchFile(
        filename: String, size: Int, makeReader: @escaping @Sendable () -> ChunkReader
    ) async throws(ProviderError) -> String

    func createBatch(_ request: CreateBatchRequest) async throws(ProviderError) -> UpstreamBatch
    func batch(id: String) async throws(ProviderError) -> UpstreamBatch
    /// Asks the provider to cancel a batch; it goes on `cancelling`, then ends `cancelled` with the
    /// rows it finished in its output file.
    func cancelBatch(id: String) async throws(ProviderError) -> UpstreamBatch
    /// The most recent batches, newest first, for finding one whose creation went unrecorded.
    func recentBatches(limit: Int) async throws(ProviderError) -> [UpstreamBatch]
    /// Streams a file's lines to `handle`, a bounded number at a time.
    func readFileLines(id: String, handle: @Sendable ([[UInt8]]) async throws -> Void) async throws
    /// Deletes a file once its batch is settled; a file already gone is not an error.
    func deleteFile(id: String) async throws(ProviderError)
}

/// Yields the next chunk of a file, or nil at its end.
public typealias ChunkReader = @Sendable () async throws -> ByteBuffer?

public struct CreateBatchRequest: Sendable {
    public var inputFileID: String
    public var endpoint: String
    public var completionWindow: String
    public var metadata: [String: String]
    /// The batch's JSONL, read again from the store, for a provider that takes the requests in
    /// the create call itself (Anthropic's Message Batches) instead of an uploaded file.
    public var source: (@Sendable () -> ChunkReader)?

    public init(
        inputFileID: String, endpoint: String, completionWindow: String, metadata: [String: String],
        source: (@Sendable () -> ChunkReader)? = nil
    ) {
        self.inputFileID = inputFileID
        self.endpoint = endpoint
        self.completionWindow = completionWindow
        self.metadata = metadata
        self.source = source
    }
}

public struct UpstreamBatch: Sendable, Equatable {
    public struct LineError: Sendable, Equatable {
        public var code: String
        public var line: Int?
        public var message: String

        public init(code: String, line: Int?, message: String) {
            self.code = code
            self.line = line
            self.message = message
        }
    }

    public var id: String
    public var status: UpstreamBatchStatus
    public var outputFileID: String?
    public var errorFileID: String?
    public var errors: [LineError]
    public var metadata: [String: String]
    /// The provider's progress (`request_counts`), when it reports it.
    public var requestCounts: BatchCounts?

    public init(
        id: String, status: UpstreamBatchStatus, outputFileID: String? = nil, errorFileID: String? = nil, errors: [LineError] = [],
        metadata: [String: String] = [:], requestCounts: BatchCounts? = nil
    ) {
        self.id = id
        self.requestCounts = requestCounts
        self.status = status
        self.outputFileID = outputFileID
        self.errorFileID = errorFileID
        self.errors = errors
        self.metadata = metadata
    }

    public var isTerminal: Bool { status.isTerminal }
}

/// A batch's status as the provider reports it (OpenAI's lifecycle). A status this version does
/// not know is kept as it was given, never dropped, and treated as still running.
public enum UpstreamBatchStatus: Sendable, Hashable, CustomStringConvertible {
    case validating, inProgress, finalizing, completed, failed, expired, cancelling, cancelled
    case other(String)

    public init(_ text: String) {
        switch text {
        case "validating": self = .validating
        case "in_progress": self = .inProgress
        case "finalizing": self = .finalizing
        case "completed": self = .completed
        case "failed": self = .failed
        case "expired": self = .expired
        case "cancelling": self = .cancelling
        case "cancelled": self = .cancelled
        default: self = .other(text)
        }
    }

    /// The provider's word for it.
    public var text: String {
        switch self {
        case .validating: "validating"
        case .inProgress: "in_progress"
        case .finalizing: "finalizing"
        case .completed: "completed"
        case .failed: "failed"
        case .expired: "expired"
        case .cancelling: "cancelling"
        case .cancelled: "cancelled"
        case .other(let text): text
        }
    }

    /// The batch will change no more: its output and error files are final.
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .expired, .cancelled: true
        case .validating, .inProgress, .finalizing, .cancelling, .other: false
        }
    }

    public var description: String { text }
}

/// A failed call to the provider, with what a retry loop needs to know.
public struct ProviderError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The provider answered with this status.
        case status(Int)
        /// No answer: connection refused, reset, timed out.
        case transport
        /// An answer we could not read.
        case malformed
    }

    public var kind: Kind
    public var message: String
    /// From a `Retry-After` header, in seconds.
    public var retryAfter: Double?

    public init(_ kind: Kind, message: String, retryAfter: Double? = nil) {
        self.kind = kind
        self.message = message
        self.retryAfter = retryAfter
    }

    /// 429, 5xx and transport failures are worth another try; other answers are final.
    public var isRetryable: Bool {
        switch kind {
        case .status(let code): code == 429 || code == 408 || code >= 500
        case .transport: true
        case .malformed: false
        }
    }

    public var description: String {
        switch kind {
        case .status(let code): "provider answered \(code): \(message)"
        case .transport: "provider unreachable: \(message)"
        case .malformed: "unreadable provider answer: \(message)"
        }
    }
}
