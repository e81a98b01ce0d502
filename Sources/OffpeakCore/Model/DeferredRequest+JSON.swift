extension DeferredRequest {
    /// The deferred request object (`DeferredRequest` in the API document).
    public func jsonObject() -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 512 + (response?.body.count ?? 0))
        write(to: &writer)
        return writer.bytes
    }

    /// Writes the object; `more` adds members after the object's own (the operator's `trace`).
    public func write(to writer: inout JSONWriter, more: (inout JSONWriter) -> Void = { _ in }) {
        writer.beginObject()
        writer.field("id", id)
        writer.field("object", "deferred_request")
        writer.field("endpoint", endpoint)
        writer.field("model", model)
        writer.field("upstream", upstream)
        writer.field("status", status.rawValue)
        writer.field("created_at", Int(createdAt))
        writer.field("submitted_at", submittedAt.map { Int($0) })
        writer.field("completed_at", completedAt.map { Int($0) })
        writer.field("purged_at", purgedAt.map { Int($0) })
        writer.field("attempts", attempts)
        writer.key("batch")
        if let batchID {
            writer.beginObject()
            writer.field("id", batchID)
            writer.field("upstream_id", upstreamBatchID)
            writer.endObject()
        } else {
            writer.null()
        }
        writer.field("callback_url", callbackURL)
        writer.key("delivery")
        writer.beginObject()
        writer.field("status", delivery.status.rawValue)
        writer.field("attempts", delivery.attempts)
        writer.field("last_status_code", delivery.lastStatusCode)
        writer.field("last_error", delivery.lastError)
        writer.endObject()
        writer.key("response")
        if let response {
            writer.beginObject()
            writer.field("status_code", response.statusCode)
            writer.field("request_id", response.requestID)
            writer.key("body")
            if response.body.isEmpty { writer.null() } else { writer.raw(response.body) }
            writer.endObject()
        } else {
            writer.null()
        }
        writer.key("error")
        DeferredError.write(error, to: &writer)
        writer.key("usage")
        if let usage {
            writer.beginObject()
            writer.field("prompt_tokens", usage.promptTokens)
            writer.field("completion_tokens", usage.completionTokens)
            writer.field("cached_tokens", usage.cachedTokens)
            writer.field("reasoning_tokens", usage.reasoningTokens)
            writer.endObject()
        } else {
            writer.null()
        }
        writer.key("cost")
        if let cost {
            writer.beginObject()
            writer.field("currency", cost.currency)
            for (name, amount) in [("billed", cost.billed), ("at_list_price", cost.atListPrice), ("saved", cost.saved)] {
                writer.key(name)
                if let amount { writer.raw(Array(amount.exactText.utf8)) } else { writer.null() }
            }
            writer.key("priced")
            writer.bool(cost.priced)
            writer.field("lane", cost.lane.rawValue)
            writer.endObject()
        } else {
            writer.null()
        }
        // Beyond OpenAI's shape of such objects: how it was answered, and the policy that deferred it.
        writer.field("served_by", servedBy?.rawValue)
        writer.field("served_reason", servedReason)
        writer.field("policy", policy)
        more(&writer)
        writer.endObject()
    }
}

extension DeferredError {
    /// `{"code","message"}`, or null.
    public static func write(_ error: DeferredError?, to writer: inout JSONWriter) {
        guard let error else {
            writer.null()
            return
        }
        writer.beginObject()
        writer.field("code", error.code)
        writer.field("message", error.message)
        writer.endObject()
    }
}
