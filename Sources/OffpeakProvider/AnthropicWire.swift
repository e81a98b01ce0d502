import NIOCore
import OffpeakCore

/// Anthropic's Message Batches in the shapes the workers know: a message batch as an
/// `UpstreamBatch`, the batch's JSONL as the create call's `requests`, and each results line as
/// an output line of the OpenAI batch format, so that one set of outcome rules serves both:
/// `succeeded` completes with the message (200), `errored` with an
/// `invalid_request_error` fails (400), any other error is answered 500 (back to the queue while
/// attempts remain), `expired` and `canceled` are lines that never ran.
enum AnthropicWire {
    static func batch(_ object: JSONObjectView) throws(ProviderError) -> UpstreamBatch {
        guard let id = object.string("id"), let processing = object.string("processing_status") else {
            throw ProviderError(.malformed, message: "a message batch without an id or processing_status")
        }
        let status: UpstreamBatchStatus
        switch processing {
        case "in_progress": status = .inProgress
        case "canceling": status = .cancelling
        case "ended": status = object.isNull("cancel_initiated_at") || object.member("cancel_initiated_at") == nil ? .completed : .cancelled
        default: status = .other(processing)
        }
        let counts = object.object("request_counts").map { counts in
            let succeeded = counts.int("succeeded") ?? 0
            let errored = counts.int("errored") ?? 0
            let total = ["processing", "canceled", "expired"].reduce(succeeded + errored) { $0 + (counts.int($1) ?? 0) }
            return BatchCounts(total: total, completed: succeeded, failed: errored)
        }
        // The results are read from `results_url`: it stands for the output file.
        return UpstreamBatch(id: id, status: status, outputFileID: object.string("results_url"), requestCounts: counts)
    }

    static func batchList(_ object: JSONObjectView) throws(ProviderError) -> [UpstreamBatch] {
        guard let data = object.objects("data") else { throw ProviderError(.malformed, message: "a list without data") }
        var batches: [UpstreamBatch] = []
        for item in data { batches.append(try batch(item)) }
        return batches
    }

    /// `{"requests":[{"custom_id":…,"params":<body>},…]}` from the batch's JSONL, bodies as they are.
    static func createBody(jsonl: [UInt8]) throws(ProviderError) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: jsonl.count + 64)
        writer.beginObject()
        writer.key("requests")
        writer.beginArray()
        for line in jsonl.split(separator: 0x0A, omittingEmptySubsequences: true) {
            guard let view = try? JSONObjectView(line), let customID = view.raw("custom_id"), let body = view.raw("body") else {
                throw ProviderError(.malformed, message: "a batch line without custom_id or body")
            }
            writer.beginObject()
            writer.key("custom_id")
            writer.raw(customID)
            writer.key("params")
            writer.raw(body)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }

    /// One results line as an output line of the OpenAI batch format (nil for a line that is not one).
    static func outputLine(_ line: [UInt8]) -> [UInt8]? {
        guard let view = try? JSONObjectView(line), let customID = view.raw("custom_id"), let result = view.object("result") else {
            return nil
        }
        var writer = JSONWriter(reservingCapacity: line.count + 96)
        writer.beginObject()
        writer.key("custom_id")
        writer.raw(customID)
        switch result.string("type") {
        case "succeeded":
            writer.key("response")
            response(status: 200, body: result.raw("message"), to: &writer)
            writer.key("error")
            writer.null()
        case "errored":
            let kind = result.object("error")?.object("error")?.string("type")
            writer.key("response")
            response(status: kind == "invalid_request_error" ? 400 : 500, body: result.raw("error"), to: &writer)
            writer.key("error")
            writer.null()
        case let type:
            let code = type == "canceled" ? "batch_cancelled" : "batch_expired"
            writer.key("response")
            writer.null()
            writer.key("error")
            writer.beginObject()
            writer.field("code", code)
            writer.field("message", "This request was not run before the message batch ended (\(type ?? "unknown")).")
            writer.endObject()
        }
        writer.endObject()
        return writer.bytes
    }

    private static func response(status: Int, body: ArraySlice<UInt8>?, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("status_code", status)
        writer.key("body")
        if let body { writer.raw(body) } else { writer.null() }
        writer.endObject()
    }
}
