/// The store cannot take writes: its disk is full, its file or database is read-only, its server
/// cannot be reached. A deferred call is then answered 503 `store_unavailable`, `/readyz` names
/// the kind, and the workers wait it out (`FaultBackoff`); nothing changes until the store recovers.
public struct StoreFault: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case diskFull = "disk_full"
        case readOnly = "read_only"
        case unreachable
        case ioError = "io_error"
        case busy
        /// A write failed for a reason the store did not recognise.
        case writeFailed = "write_failed"
    }

    public var kind: Kind
    /// The driver's words, for the log (never a URL or a key).
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// A sentence for an operator.
    public var summary: String {
        switch kind {
        case .diskFull: "the store's disk is full"
        case .readOnly: "the store is read-only"
        case .unreachable: "the store cannot be reached"
        case .ioError: "the store's disk reports I/O errors"
        case .busy: "the store is locked by another process"
        case .writeFailed: "the store could not write"
        }
    }

    public var description: String { "\(summary) (\(detail))" }
}

/// How a store names its faults: each backend reads its driver's errors.
public protocol StoreFaults: Sendable {
    /// The fault `error` shows, when it means the store cannot write now (rather than, say, a bad
    /// argument); nil otherwise.
    func fault(_ error: any Error) -> StoreFault?
}

extension StoreFaults {
    /// `error` as a fault: the one it shows, or `writeFailed` naming it.
    public func faultOrFailure(_ error: any Error) -> StoreFault {
        if let fault = error as? StoreFault { return fault }
        return fault(error) ?? StoreFault(.writeFailed, String(describing: type(of: error)))
    }
}
