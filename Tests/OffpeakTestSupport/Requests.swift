import OffpeakCore

extension RequestStore {
    /// Accepts a small chat completion for `qwen-plus`, as the intake would store it.
    public func acceptChat(id: String, content: String, at time: Timestamp, owner: String = "") async throws {
        let body = Array(#"{"model":"qwen-plus","messages":[{"role":"user","content":"\#(content)"}]}"#.utf8)
        _ = try await accept(NewDeferredRequest(
            record: DeferredRequest(
                id: id, owner: owner, endpoint: "/v1/chat/completions", model: "qwen-plus", createdAt: time, bodyDigest: id,
                bodyBytes: body.count),
            body: body))
    }
}
