import Foundation

/// Everything the simulated provider holds: files, batches, injected faults and counters.
actor SimulatorState {
    struct StoredFile {
        let id: String
        let filename: String
        let purpose: String
        let bytes: [UInt8]
        let createdAt: Double
    }

    /// A fault on one of the simulator's own endpoints, for the next `remaining` calls.
    struct EndpointFault {
        var status: Int
        var remaining: Int
        var retryAfter: Double?
    }

    enum Endpoint: String, CaseIterable {
        /// `chat`: any real-time call; `flex`: a real-time call with `service_tier: "flex"`.
        case upload, create, retrieve, content, chat, list, flex
    }

    static let maxLines = 50_000
    static let maxFileBytes = 500 * 1_000_000
    static let maxLineBytes = 6 * 1_000_000

    private let batchDelay: Double
    private var files: [String: StoredFile] = [:]
    var batches: [String: SimulatedBatch] = [:]
    var batchOrder: [String] = []
    private var faults: [Endpoint: EndpointFault] = [:]
    /// Executions per custom_id, for markers with `times`.
    private var executions: [String: Int] = [:]
    var batchFaultsSeen: [String: Int] = [:]
    private var counter = 0
    private(set) var realtimeCalls = 0
    var batchDelayValue: Double { batchDelay }

    init(batchDelay: Double) {
        self.batchDelay = batchDelay
    }

    func nextID(_ prefix: String) -> String {
        counter += 1
        return prefix + String(format: "%08x", counter) + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    var now: Double { Date().timeIntervalSince1970 }

    // MARK: Faults

    func inject(_ endpoint: Endpoint, status: Int, count: Int, retryAfter: Double?) {
        faults[endpoint] = EndpointFault(status: status, remaining: count, retryAfter: retryAfter)
    }

    /// Consumes one injected fault for `endpoint`, if any is left.
    func takeFault(_ endpoint: Endpoint) -> EndpointFault? {
        guard var fault = faults[endpoint], fault.remaining > 0 else { return nil }
        fault.remaining -= 1
        faults[endpoint] = fault.remaining > 0 ? fault : nil
        return fault
    }

    func countRealtimeCall() {
        realtimeCalls += 1
    }

    /// Whether a marker with `times` still applies to this request, counting this execution.
    func applies(_ marker: FaultMarker, customID: String, seen: inout [String: Int]) -> Bool {
        guard let times = marker.times else { return true }
        return seen[customID, default: 0] < times
    }

    // MARK: Files

    func addFile(filename: String, purpose: String, bytes: [UInt8]) -> StoredFile {
        let file = StoredFile(id: nextID("file-"), filename: filename, purpose: purpose, bytes: bytes, createdAt: now)
        files[file.id] = file
        return file
    }

    func file(_ id: String) -> StoredFile? {
        files[id]
    }

    private(set) var deletedFiles: [String] = []

    /// Deletes a file; false when there is none with that id.
    func deleteFile(_ id: String) -> Bool {
        guard files.removeValue(forKey: id) != nil else { return false }
        deletedFiles.append(id)
        return true
    }

    // MARK: Batches

    enum CreateError: Error {
        case badRequest(String)
    }

    /// A batch created but not yet looked at: like a real provider, the simulator validates the
    /// file after answering the create call, so a large file does not hold that call up.
    private struct PendingBatch {
        let id: String
        let endpoint: String
        let inputFileID: String
        let completionWindow: String
        let metadata: [String: String]
        let createdAt: Double
    }

    private var pendingBatches: [String: PendingBatch] = [:]

    /// Creates a batch and returns its id; its file is validated when the batch is first read.
    func createBatch(inputFileID: String, endpoint: String, completionWindow: String, metadata: [String: String]) throws
        -> String
    {
        guard files[inputFileID] != nil else { throw CreateError.badRequest("No file with id \(inputFileID)") }
        guard SimulatedEndpoints.batchable.contains(endpoint) else {
            throw CreateError.badRequest("Unsupported endpoint \(endpoint)")
        }
        let pending = PendingBatch(
            id: nextID("batch_"), endpoint: endpoint, inputFileID: inputFileID, completionWindow: completionWindow,
            metadata: metadata, createdAt: now)
        pendingBatches[pending.id] = pending
        batchOrder.append(pending.id)
        return pending.id
    }

    /// The answer to the create call: the batch as it stands before its file is read.
    func createdBatchJSON(_ id: String) -> [UInt8]? {
        guard let pending = pendingBatches[id] else { return batchJSON(id) }
        return SimulatedModel.jsonBytes([
            "id": pending.id, "object": "batch", "endpoint": pending.endpoint, "input_file_id": pending.inputFileID,
            "completion_window": pending.completionWindow, "status": "validating", "output_file_id": NSNull(),
            "error_file_id": NSNull(), "created_at": Int(pending.createdAt), "in_progress_at": NSNull(),
            "expires_at": Int(pending.createdAt + 86_400), "finalizing_at": NSNull(), "completed_at": NSNull(),
            "failed_at": NSNull(), "expired_at": NSNull(), "cancelling_at": NSNull(), "cancelled_at": NSNull(),
            "request_counts": ["total": 0, "completed": 0, "failed": 0],
            "metadata": pending.metadata.isEmpty ? NSNull() as Any : pending.metadata as Any, "errors": NSNull(),
        ])
    }

    /// The batch with this id, validating its file on first sight; its clock starts then.
    func batch(_ id: String) -> SimulatedBatch? {
        if let batch = batches[id] { return batch }
        guard let pending = pendingBatches.removeValue(forKey: id), let file = files[pending.inputFileID] else { return nil }
        let (lines, errors) = validate(file.bytes, endpoint: pending.endpoint)
        var seen = batchFaultsSeen
        var expires = false
        var markerErrors: [SimulatedBatch.ValidationError] = []
        for (index, line) in lines.enumerated() {
            for marker in line.markers where applies(marker, customID: line.customID, seen: &seen) {
                if marker.action == .expireBatch {
                    expires = true
                    seen[line.customID, default: 0] += 1
                } else if marker.action == .invalidateBatch {
                    markerErrors.append(.init(code: "invalid_request", line: index + 1, message: "Simulated validation failure"))
                    seen[line.customID, default: 0] += 1
                }
            }
        }
        batchFaultsSeen = seen
        let batch = SimulatedBatch(
            id: pending.id, endpoint: pending.endpoint, inputFileID: pending.inputFileID,
            completionWindow: pending.completionWindow, metadata: pending.metadata, createdAt: max(pending.createdAt, now),
            delay: batchDelay, lines: errors.isEmpty ? lines : [], validationErrors: errors + markerErrors, expires: expires)
        batches[batch.id] = batch
        return batch
    }

    private func validate(_ bytes: [UInt8], endpoint: String) -> ([SimulatedBatch.Line], [SimulatedBatch.ValidationError]) {
        var lines: [SimulatedBatch.Line] = []
        var errors: [SimulatedBatch.ValidationError] = []
        var ids: Set<String> = []
        var model: String?
        if bytes.count > Self.maxFileBytes {
            return ([], [.init(code: "file_too_large", line: nil, message: "The file exceeds \(Self.maxFileBytes) bytes")])
        }
        let rawLines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true)
        if rawLines.isEmpty { return ([], [.init(code: "empty_file", line: nil, message: "The file has no requests")]) }
        if rawLines.count > Self.maxLines {
            return ([], [.init(code: "too_many_requests", line: nil, message: "At most \(Self.maxLines) requests")])
        }
        for (index, raw) in rawLines.enumerated() {
            let number = index + 1
            func fail(_ code: String, _ message: String) {
                if errors.count < 100 { errors.append(.init(code: code, line: number, message: message)) }
            }
            guard raw.count <= Self.maxLineBytes else {
                fail("line_too_large", "Line exceeds 6 MB")
                continue
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any] else {
                fail("invalid_json_line", "This line is not a JSON object")
                continue
            }
            guard let customID = object["custom_id"] as? String, !customID.isEmpty else {
                fail("missing_custom_id", "custom_id is required")
                continue
            }
            guard ids.insert(customID).inserted else {
                fail("duplicate_custom_id", "The custom_id \(customID) appears more than once")
                continue
            }
            guard (object["method"] as? String) == "POST" else {
                fail("invalid_method", "method must be POST")
                continue
            }
            guard (object["url"] as? String) == endpoint else {
                fail("invalid_url", "url must be \(endpoint) for this batch")
                continue
            }
            guard let body = object["body"] as? [String: Any], let lineModel = body["model"] as? String else {
                fail("missing_model", "body.model is required")
                continue
            }
            if let model, model != lineModel {
                fail("mismatched_model", "All requests of a batch must use the same model (\(model))")
                continue
            }
            model = lineModel
            let markers = SimulatedModel.messageTexts(body).flatMap(FaultMarker.parse)
            lines.append(.init(customID: customID, body: body, markers: markers))
        }
        return (lines, errors)
    }

    /// Asks a running batch to stop; returns its object, or nil for an unknown id.
    func cancelBatch(_ id: String) -> [UInt8]? {
        guard let batch = batch(id) else { return nil }
        let (status, _) = batch.status(at: now)
        if ["validating", "in_progress", "finalizing"].contains(status) { batch.cancelRequestedAt = now }
        return batchJSON(id)
    }

    /// The batch as the API shows it now, its result files written when it has just ended.
    private func batchObject(_ id: String) -> [String: Any]? {
        guard let batch = batch(id) else { return nil }
        settle(batch)
        return batch.object(at: now)
    }

    func batchJSON(_ id: String) -> [UInt8]? {
        batchObject(id).map(SimulatedModel.jsonBytes)
    }

    func listJSON(limit: Int, after: String?) -> [UInt8] {
        var ids = Array(batchOrder.reversed())
        if let after, let index = ids.firstIndex(of: after) { ids = Array(ids[(index + 1)...]) }
        let page = ids.prefix(limit).compactMap { batchObject($0) }
        return SimulatedModel.jsonBytes([
            "object": "list", "data": page, "first_id": page.first?["id"] ?? NSNull(),
            "last_id": page.last?["id"] ?? NSNull(), "has_more": ids.count > limit,
        ])
    }

    func settle(_ batch: SimulatedBatch) {
        let (status, due) = batch.status(at: now)
        guard let due else { return }
        let executed = batch.executedCount(endingAs: status, at: due)
        var output: [UInt8] = []
        var errors: [UInt8] = []
        var completed = 0
        var failed = 0
        // Results come back in an order other than the input's, as real providers' may.
        let anthropic = batch.endpoint == SimulatedAnthropic.endpoint
        for (index, line) in batch.lines.enumerated().reversed() {
            let lineID = nextID("batch_req_")
            guard index < executed else {
                let code = status == "expired" ? "batch_expired" : "batch_cancelled"
                if anthropic {
                    errors += SimulatedAnthropic.resultLine(customID: line.customID, notRun: code)
                    continue
                }
                let error: [String: Any] = [
                    "id": lineID, "custom_id": line.customID, "response": NSNull(),
                    "error": ["code": code, "message": "This request was not executed before the batch \(status)."],
                ]
                errors += Array((SimulatedModel.json(error) + "\n").utf8)
                continue
            }
            var statusCode = 200
            var omit = false
            for marker in line.markers where applies(marker, customID: line.customID, seen: &executions) {
                switch marker.action {
                case .status(let code): statusCode = code
                case .omit: omit = true
                default: continue
                }
            }
            executions[line.customID, default: 0] += 1
            if omit { continue }
            if statusCode == 200 { completed += 1 } else { failed += 1 }
            if anthropic {
                let text = SimulatedAnthropic.resultLine(customID: line.customID, status: statusCode, body: line.body)
                if statusCode == 200 { output += text } else { errors += text }
                continue
            }
            let body: [String: Any]
            if statusCode == 200 {
                body = SimulatedEndpoints.result(endpoint: batch.endpoint, body: line.body)
            } else {
                body = SimulatedModel.errorObject(
                    status: statusCode, message: "Simulated failure with status \(statusCode)",
                    type: statusCode == 429 ? "rate_limit_error" : statusCode >= 500 ? "server_error" : "invalid_request_error",
                    code: "simulated_\(statusCode)")
            }
            let object: [String: Any] = [
                "id": lineID, "custom_id": line.customID,
                "response": ["status_code": statusCode, "request_id": "req-" + lineID, "body": body] as [String: Any],
                "error": NSNull(),
            ]
            let text = Array((SimulatedModel.json(object) + "\n").utf8)
            if statusCode == 200 { output += text } else { errors += text }
        }
        if anthropic {
            // One results file, every request in it, as Anthropic's results_url serves.
            let results = addFile(filename: "\(batch.id)_results.jsonl", purpose: "batch_output", bytes: output + errors).id
            batch.end(as: status, at: due, outputFileID: results, errorFileID: nil, completed: completed, failed: failed)
            return
        }
        let outputID = output.isEmpty ? nil : addFile(filename: "\(batch.id)_output.jsonl", purpose: "batch_output", bytes: output).id
        let errorID = errors.isEmpty ? nil : addFile(filename: "\(batch.id)_error.jsonl", purpose: "batch_output", bytes: errors).id
        batch.end(as: status, at: due, outputFileID: outputID, errorFileID: errorID, completed: completed, failed: failed)
    }

    // MARK: Inspection, for tests and the demo

    func stats() -> [UInt8] {
        SimulatedModel.jsonBytes([
            "realtime_calls": realtimeCalls, "batches": batches.count + pendingBatches.count, "files": files.count,
            "deleted_files": deletedFiles,
            "batched_requests": batches.values.reduce(0) { $0 + $1.lines.count },
        ])
    }
}
