import NIOCore
import OffpeakCore
import Testing

/// Reading a passthrough answer's usage as it is relayed, in chunks cut anywhere.
@Suite struct AnswerMeterTests {
    static func meter(_ text: String, contentType: String, chunk: Int) -> AnswerMeter {
        var meter = AnswerMeter(contentType: contentType)
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            meter.consume(ByteBuffer(bytes: bytes[start..<min(start + chunk, bytes.count)]))
        }
        meter.finish()
        return meter
    }

    @Test(arguments: [1, 7, 4096])
    func aJSONAnswer(chunk: Int) {
        let answer = #"{"id":"x","model":"qwen-plus","usage":{"prompt_tokens":12,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":4}}}"#
        let meter = Self.meter(answer, contentType: "application/json", chunk: chunk)
        #expect(meter.model == "qwen-plus" && meter.usage == TokenUsage(promptTokens: 12, completionTokens: 5, cachedTokens: 4))
    }

    @Test(arguments: [1, 9, 4096])
    func anOpenAIStreamCountsItsFinalUsageChunk(chunk: Int) {
        let stream = """
            data: {"model":"qwen-plus","choices":[{"delta":{"content":"hi"}}],"usage":null}

            data: {"model":"qwen-plus","choices":[],"usage":{"prompt_tokens":30,"completion_tokens":8,"completion_tokens_details":{"reasoning_tokens":3}}}

            data: [DONE]

            """
        let meter = Self.meter(stream, contentType: "text/event-stream; charset=utf-8", chunk: chunk)
        #expect(meter.model == "qwen-plus" && meter.usage == TokenUsage(promptTokens: 30, completionTokens: 8, reasoningTokens: 3))
        let silent = Self.meter("data: {\"model\":\"m\",\"choices\":[]}\n\ndata: [DONE]\n\n", contentType: "text/event-stream", chunk: chunk)
        #expect(silent.model == "m" && silent.usage == nil, "no usage chunk: unknown, not zero")
    }

    @Test func anAnthropicStreamAddsTheStartAndTheDelta() {
        let stream = """
            event: message_start
            data: {"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":20,"cache_read_input_tokens":5,"output_tokens":1}}}

            event: message_delta
            data: {"type":"message_delta","usage":{"output_tokens":42}}

            """
        let meter = Self.meter(stream, contentType: "text/event-stream", chunk: 5)
        #expect(meter.model == "claude-x" && meter.usage == TokenUsage(promptTokens: 25, completionTokens: 42, cachedTokens: 5))
    }

    @Test func anAnswerTooLargeToKeepIsUnknown() {
        var meter = AnswerMeter(contentType: "application/json")
        meter.consume(ByteBuffer(bytes: Array(repeating: UInt8(ascii: " "), count: AnswerMeter.limit)))
        meter.consume(ByteBuffer(string: #"{"model":"m","usage":{"prompt_tokens":1}}"#))
        meter.finish()
        #expect(meter.usage == nil && meter.model == nil)
    }
}
