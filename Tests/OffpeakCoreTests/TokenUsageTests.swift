import OffpeakCore
import Testing

/// Token counts as each endpoint's answer reports them.
@Suite struct TokenUsageTests {
    static func usage(_ body: String) -> TokenUsage? { OutputLine.usage(in: Array(body.utf8)) }

    @Test func chatAndCompletionsCarryCachedAndReasoningTokensInTheirDetails() {
        let chat = #"""
            {"object":"chat.completion","usage":{"prompt_tokens":120,"completion_tokens":80,"total_tokens":200,
             "prompt_tokens_details":{"cached_tokens":100},"completion_tokens_details":{"reasoning_tokens":50}}}
            """#
        #expect(Self.usage(chat) == TokenUsage(promptTokens: 120, completionTokens: 80, cachedTokens: 100, reasoningTokens: 50))
        #expect(Self.usage(#"{"usage":{"prompt_tokens":3,"completion_tokens":4}}"#) == TokenUsage(promptTokens: 3, completionTokens: 4))
    }

    @Test func embeddingsCountPromptTokensOnly() {
        #expect(
            Self.usage(#"{"object":"list","data":[],"usage":{"prompt_tokens":9,"total_tokens":9}}"#)
                == TokenUsage(promptTokens: 9, completionTokens: 0))
    }

    @Test func responsesCountInputAndOutputTokens() {
        let response = #"""
            {"object":"response","usage":{"input_tokens":40,"input_tokens_details":{"cached_tokens":8},
             "output_tokens":30,"output_tokens_details":{"reasoning_tokens":12},"total_tokens":70}}
            """#
        #expect(Self.usage(response) == TokenUsage(promptTokens: 40, completionTokens: 30, cachedTokens: 8, reasoningTokens: 12))
    }

    @Test func anthropicCacheReadsArePartOfThePrompt() {
        let message = #"{"type":"message","usage":{"input_tokens":10,"cache_read_input_tokens":90,"output_tokens":5}}"#
        #expect(Self.usage(message) == TokenUsage(promptTokens: 100, completionTokens: 5, cachedTokens: 90))
    }

    @Test func anAnswerWithoutUsageHasNone() {
        #expect(Self.usage(#"{"object":"chat.completion"}"#) == nil)
        #expect(Self.usage("not json") == nil)
    }
}
