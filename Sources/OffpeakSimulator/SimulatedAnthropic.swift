import Foundation

/// Anthropic's side of the simulator: the Messages API and Message Batches, answered from the
/// same deterministic model as the OpenAI-compatible side.
enum SimulatedAnthropic {
    static let endpoint = "/v1/messages"

    static func message(_ answer: SimulatedModel.Answer) -> [String: Any] {
        [
            "id": "msg_" + answer.id.dropFirst("chatcmpl-".count), "type": "message", "role": "assistant", "model": answer.model,
            "content": [["type": "text", "text": answer.content]], "stop_reason": "end_turn", "stop_sequence": NSNull(),
            "usage": [
                "input_tokens": answer.promptTokens, "output_tokens": answer.completionTokens, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            ],
        ]
    }

    static func errorType(status: Int) -> String {
        switch status {
        case 400: "invalid_request_error"
        case 401: "authentication_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 529: "overloaded_error"
        default: "api_error"
        }
    }

    static func error(status: Int, _ message: String) -> [String: Any] {
        ["type": "error", "error": ["type": errorType(status: status), "message": message]]
    }

    /// The server-sent events of a streamed message: start, one delta per word, stop.
    static func streamEvents(_ answer: SimulatedModel.Answer) -> [String] {
        func event(_ name: String, _ object: [String: Any]) -> String { "event: \(name)\ndata: " + SimulatedModel.json(object) + "\n\n" }
        var start = message(answer)
        start["content"] = [] as [Any]
        start["stop_reason"] = NSNull()
        start["usage"] = ["input_tokens": answer.promptTokens, "output_tokens": 1]
        var events = [
            event("message_start", ["type": "message_start", "message": start]),
            event("content_block_start", ["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]]),
        ]
        for (index, word) in answer.content.split(separator: " ").enumerated() {
            let text = (index == 0 ? "" : " ") + word
            events.append(
                event("content_block_delta", ["type": "content_block_delta", "index": 0, "delta": ["type": "text_delta", "text": text]]))
        }
        events.append(event("content_block_stop", ["type": "content_block_stop", "index": 0]))
        events.append(
            event(
                "message_delta",
                [
                    "type": "message_delta", "delta": ["stop_reason": "end_turn", "stop_sequence": NSNull()],
                    "usage": ["output_tokens": answer.completionTokens],
                ]))
        events.append(event("message_stop", ["type": "message_stop"]))
        return events
    }

    /// One line of a batch's results: the message, or the error, of a request that ran.
    static func resultLine(customID: String, status: Int, body: [String: Any]) -> [UInt8] {
        let result: [String: Any] =
            status == 200
            ? ["type": "succeeded", "message": message(SimulatedModel.answer(to: body))]
            : ["type": "errored", "error": error(status: status, "Simulated failure with status \(status)")]
        return Array((SimulatedModel.json(["custom_id": customID, "result": result]) + "\n").utf8)
    }

    /// One line of a batch's results for a request that never ran (`batch_expired`, `batch_cancelled`).
    static func resultLine(customID: String, notRun code: String) -> [UInt8] {
        let result = ["type": code == "batch_expired" ? "expired" : "canceled"]
        return Array((SimulatedModel.json(["custom_id": customID, "result": result]) + "\n").utf8)
    }

    static func iso(_ time: Double?) -> Any {
        guard let time else { return NSNull() }
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: time))
    }

    /// A Message Batch as Anthropic's API shows it.
    static func batchObject(_ batch: SimulatedBatch, now: Double, baseURL: String) -> [String: Any] {
        let (status, _) = batch.status(at: now)
        let ended = ["completed", "expired", "cancelled"].contains(status)
        let processing: String = ended ? "ended" : status == "cancelling" ? "canceling" : "in_progress"
        let total = batch.lines.count
        var counts = ["processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0]
        if ended {
            counts["succeeded"] = batch.completedCount
            counts["errored"] = batch.failedCount
            let notRun = max(0, total - batch.completedCount - batch.failedCount)
            counts[status == "expired" ? "expired" : "canceled"] = notRun
        } else {
            let done = min(total, Int(Double(total) * min(1, max(0, now - batch.validatedAt) / max(batch.delay * 0.8, 0.001))))
            counts["succeeded"] = done
            counts["processing"] = total - done
        }
        return [
            "id": batch.id, "type": "message_batch", "processing_status": processing, "request_counts": counts,
            "created_at": iso(batch.createdAt), "expires_at": iso(batch.createdAt + 86_400), "archived_at": NSNull(),
            "cancel_initiated_at": iso(batch.cancelRequestedAt), "ended_at": iso(ended ? batch.endedAt : nil),
            "results_url": ended ? "\(baseURL)/v1/messages/batches/\(batch.id)/results" as Any : NSNull(),
        ]
    }
}
