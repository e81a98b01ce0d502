/// One line of a provider's output or error file.
public struct OutputLine: Sendable, Equatable {
    public var customID: String
    public var response: StoredResponse?
    /// The line's own `error` object: the request was not executed (e.g. `batch_expired`).
    public var error: DeferredError?
    public var usage: TokenUsage?

    public init(customID: String, response: StoredResponse?, error: DeferredError?, usage: TokenUsage? = nil) {
        self.customID = customID
        self.response = response
        self.error = error
        self.usage = usage
    }

    public struct Malformed: Error, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { "malformed output line: \(reason)" }
    }

    /// Reads a line, keeping `response.body` byte for byte.
    public static func parse(_ line: some Collection<UInt8>) throws -> OutputLine {
        let view: JSONObjectView
        do {
            // One scan of the line: the members of `response`, its `body` and their `usage` are recorded by it.
            view = try JSONObjectView(line, nestedDepth: 3)
        } catch {
            throw Malformed(reason: error.description)
        }
        guard let customID = view.string("custom_id") else { throw Malformed(reason: "no custom_id") }
        var response: StoredResponse?
        var usage: TokenUsage?
        if let object = view.object("response"), let status = object.int("status_code") {
            let body = object.raw("body").map(Array.init) ?? []
            response = StoredResponse(statusCode: status, requestID: object.string("request_id"), body: body)
            usage = object.object("body").flatMap(Self.usage(in:))
        }
        var error: DeferredError?
        if let object = view.object("error") {
            error = DeferredError(
                code: object.string("code") ?? "upstream_error",
                message: object.string("message") ?? "the provider did not execute this request"
            )
        }
        return OutputLine(customID: customID, response: response, error: error, usage: usage)
    }

    /// The token counts of an answer's body, if it has them: chat completions and completions
    /// (`prompt_tokens`, `completion_tokens` and their details), embeddings (`prompt_tokens`),
    /// responses (`input_tokens`, `output_tokens` and their details) and Anthropic messages
    /// (`input_tokens` without the cache reads, `cache_read_input_tokens`).
    public static func usage(in body: JSONObjectView) -> TokenUsage? {
        guard let usage = body.object("usage") else { return nil }
        let cacheReads = usage.int("cache_read_input_tokens") ?? 0
        let cached =
            usage.object("prompt_tokens_details")?.int("cached_tokens") ?? usage.object("input_tokens_details")?.int("cached_tokens")
            ?? cacheReads
        let reasoning =
            usage.object("completion_tokens_details")?.int("reasoning_tokens")
            ?? usage.object("output_tokens_details")?.int("reasoning_tokens") ?? 0
        return TokenUsage(
            promptTokens: (usage.int("prompt_tokens") ?? usage.int("input_tokens") ?? 0) + cacheReads,
            completionTokens: usage.int("completion_tokens") ?? usage.int("output_tokens") ?? 0,
            cachedTokens: cached, reasoningTokens: reasoning)
    }

    public static func usage(in body: [UInt8]) -> TokenUsage? {
        (try? JSONObjectView(body)).flatMap(usage(in:))
    }
}
