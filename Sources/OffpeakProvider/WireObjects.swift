import OffpeakCore

/// The provider's JSON objects, read with the same byte-level view as every other JSON on the
/// batch path (output lines, request bodies).
enum WireObjects {
    /// A file object's id.
    static func fileID(_ object: JSONObjectView) throws(ProviderError) -> String {
        guard let id = object.string("id") else { throw ProviderError(.malformed, message: "a file object without an id") }
        return id
    }

    static func batch(_ object: JSONObjectView) throws(ProviderError) -> UpstreamBatch {
        guard let id = object.string("id"), let status = object.string("status") else {
            throw ProviderError(.malformed, message: "a batch object without an id or status")
        }
        let errors = (object.object("errors")?.objects("data") ?? []).map { item in
            UpstreamBatch.LineError(code: item.string("code") ?? "invalid_request", line: item.int("line"), message: item.string("message") ?? "")
        }
        let counts = object.object("request_counts").flatMap { counts in
            counts.int("total").map { BatchCounts(total: $0, completed: counts.int("completed") ?? 0, failed: counts.int("failed") ?? 0) }
        }
        return UpstreamBatch(
            id: id, status: UpstreamBatchStatus(status), outputFileID: object.string("output_file_id"),
            errorFileID: object.string("error_file_id"), errors: errors, metadata: object.strings("metadata") ?? [:],
            requestCounts: counts)
    }

    static func batchList(_ object: JSONObjectView) throws(ProviderError) -> [UpstreamBatch] {
        guard let data = object.objects("data") else { throw ProviderError(.malformed, message: "a list without data") }
        var batches: [UpstreamBatch] = []
        for item in data { batches.append(try batch(item)) }
        return batches
    }

    /// `POST /batches`'s body.
    static func createBody(_ create: CreateBatchRequest) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 256)
        writer.beginObject()
        writer.field("input_file_id", create.inputFileID)
        writer.field("endpoint", create.endpoint)
        writer.field("completion_window", create.completionWindow)
        writer.key("metadata")
        writer.beginObject()
        for (key, value) in create.metadata.sorted(by: { $0.key < $1.key }) { writer.field(key, value) }
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }
}
