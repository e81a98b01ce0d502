import Foundation

/// One batch inside the simulator. Its status follows the clock: `validating` for the first tenth
/// of the batch delay, `in_progress`, `finalizing` for the last tenth, then its end state.
final class SimulatedBatch {
    struct Line {
        let customID: String
        let body: [String: Any]
        let markers: [FaultMarker]
    }

    struct ValidationError {
        let code: String
        let line: Int?
        let message: String
    }

    let id: String
    let endpoint: String
    let inputFileID: String
    let completionWindow: String
    let metadata: [String: String]
    let createdAt: Double
    let delay: Double
    let lines: [Line]
    let validationErrors: [ValidationError]
    let expires: Bool
    var cancelRequestedAt: Double?

    private(set) var endState: String?
    private(set) var endedAt: Double?
    private(set) var outputFileID: String?
    private(set) var errorFileID: String?
    private(set) var completedCount = 0
    private(set) var failedCount = 0

    init(
        id: String, endpoint: String, inputFileID: String, completionWindow: String, metadata: [String: String],
        createdAt: Double, delay: Double, lines: [Line], validationErrors: [ValidationError], expires: Bool
    ) {
        self.id = id
        self.endpoint = endpoint
        self.inputFileID = inputFileID
        self.completionWindow = completionWindow
        self.metadata = metadata
        self.createdAt = createdAt
        self.delay = delay
        self.lines = lines
        self.validationErrors = validationErrors
        self.expires = expires
    }

    var validatedAt: Double { createdAt + delay * 0.1 }

    /// The status at `now`, and whether the batch has just reached its end and needs its files.
    func status(at now: Double) -> (status: String, due: Double?) {
        if let endState { return (endState, nil) }
        if !validationErrors.isEmpty {
            return now < validatedAt ? ("validating", nil) : ("failed", validatedAt)
        }
        if let cancelled = cancelRequestedAt {
            let done = cancelled + min(0.2, delay * 0.1)
            return now < done ? ("cancelling", nil) : ("cancelled", done)
        }
        if now < validatedAt { return ("validating", nil) }
        if expires {
            return now < createdAt + delay ? ("in_progress", nil) : ("expired", createdAt + delay)
        }
        if now < createdAt + delay * 0.9 { return ("in_progress", nil) }
        if now < createdAt + delay { return ("finalizing", nil) }
        return ("completed", createdAt + delay)
    }

    /// How many lines have been executed when the batch stops at `time`.
    func executedCount(endingAs state: String, at time: Double) -> Int {
        switch state {
        case "completed": lines.count
        case "expired": lines.count / 2
        case "cancelled": min(lines.count, Int(Double(lines.count) * max(0, time - validatedAt) / max(delay * 0.8, 0.001)))
        default: 0
        }
    }

    func end(as state: String, at time: Double, outputFileID: String?, errorFileID: String?, completed: Int, failed: Int) {
        endState = state
        endedAt = time
        self.outputFileID = outputFileID
        self.errorFileID = errorFileID
        completedCount = completed
        failedCount = failed
    }

    func object(at now: Double) -> [String: Any] {
        let (status, _) = status(at: now)
        func stamp(_ value: Double?) -> Any { value.map { Int($0) } ?? NSNull() }
        let inProgress = validationErrors.isEmpty && now >= validatedAt ? validatedAt : nil
        var object: [String: Any] = [
            "id": id, "object": "batch", "endpoint": endpoint, "input_file_id": inputFileID,
            "completion_window": completionWindow, "status": status,
            "output_file_id": outputFileID ?? NSNull(), "error_file_id": errorFileID ?? NSNull(),
            "created_at": Int(createdAt), "in_progress_at": stamp(inProgress),
            "expires_at": Int(createdAt + 86_400),
            "finalizing_at": stamp(endState == "completed" ? createdAt + delay * 0.9 : nil),
            "completed_at": stamp(endState == "completed" ? endedAt : nil),
            "failed_at": stamp(endState == "failed" ? endedAt : nil),
            "expired_at": stamp(endState == "expired" ? endedAt : nil),
            "cancelling_at": stamp(cancelRequestedAt),
            "cancelled_at": stamp(endState == "cancelled" ? endedAt : nil),
            "request_counts": [
                "total": lines.count,
                "completed": endState == nil
                    ? Int(Double(lines.count) * min(1, max(0, now - validatedAt) / max(delay * 0.8, 0.001)))
                    : completedCount,
                "failed": failedCount,
            ],
            "metadata": metadata.isEmpty ? NSNull() : metadata,
            "errors": NSNull(),
        ]
        if !validationErrors.isEmpty && status == "failed" {
            object["errors"] = [
                "object": "list",
                "data": validationErrors.map { error -> [String: Any] in
                    ["code": error.code, "line": error.line ?? NSNull(), "message": error.message, "param": NSNull()]
                },
            ] as [String: Any]
        }
        return object
    }
}
