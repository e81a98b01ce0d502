/// The endpoints whose calls Offpeak defers into batch files, each batched
/// under its own `url`: one endpoint and one model per file, the provider's body returned as given.
public enum BatchEndpoints {
    /// What OpenAI-compatible Batch APIs take.
    public static let deferrable = ["/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v1/responses"]
    /// What Anthropic's Message Batches take.
    public static let anthropic = ["/v1/messages"]
    /// Every endpoint a call may be deferred on, whichever upstream it is routed to.
    public static let all = deferrable + anthropic

    /// Whether a streaming call a policy defers can be answered by replaying its result as
    /// events: chat completions only; elsewhere such a call passes through.
    public static func replaysStreams(_ endpoint: String) -> Bool {
        endpoint == "/v1/chat/completions"
    }
}
