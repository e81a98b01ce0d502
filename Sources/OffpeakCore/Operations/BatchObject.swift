/// A batch as the operator and the provider's console see it.
extension BatchRecord {
    /// The name it is shown by, here and in the provider's console: `offpeak qwen-plus 480 requests`.
    public var name: String {
        "offpeak \(model) \(requestCount) request\(requestCount == 1 ? "" : "s")"
    }

    /// The metadata key that names our batch in the upstream batch, for recovery after a crash.
    public static let metadataKey = "offpeak_batch_id"

    /// The metadata every batch is created upstream with: our id (to find it again after a
    /// crash), and DashScope's `ds_name` / `ds_description`, which its console lists tasks by.
    public var upstreamMetadata: [String: String] {
        [
            Self.metadataKey: id, "ds_name": String(name.prefix(100)),
            "ds_description": "Offpeak batch \(id) (\(endpoint))",
        ]
    }

    /// The batch's status: `preparing` until it exists upstream, then the provider's.
    public var status: String {
        switch state {
        case .preparing: "preparing"
        case .abandoned: "failed"
        case .live, .ended: upstreamStatus?.text ?? "validating"
        }
    }

    /// The batch object of the operator API: `request_counts` is the provider's progress while it
    /// runs (as of the last poll), then what Offpeak settled.
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("id", id)
        writer.field("object", "offpeak.batch")
        writer.field("upstream", upstream)
        writer.field("endpoint", endpoint)
        writer.field("model", model)
        writer.field("name", name)
        writer.field("status", status)
        writer.field("upstream_id", upstreamID)
        writer.field("input_file_id", inputFileID)
        writer.field("output_file_id", outputFileID)
        writer.field("error_file_id", errorFileID)
        let counts = counts ?? BatchCounts(total: requestCount, completed: 0, failed: 0)
        writer.key("request_counts")
        writer.beginObject()
        writer.field("total", counts.total)
        writer.field("completed", counts.completed)
        writer.field("failed", counts.failed)
        writer.endObject()
        writer.field("created_at", Int(createdAt))
        writer.field("submitted_at", submittedAt.map { Int($0) })
        writer.field("ended_at", endedAt.map { Int($0) })
        writer.endObject()
    }
}
