import Foundation
import NIOCore
import OffpeakCore
import Testing

@Suite struct JSONLTests {
    @Test func writtenLineHasThePredictedSizeAndShape() throws {
        let body = Array(#"{"model":"qwen-plus","messages":[{"role":"user","content":"é \"q\""}]}"#.utf8)
        var writer = BatchFileWriter()
        body.withUnsafeBytes { writer.append(line: 1, id: "dfr_abc", endpoint: "/v1/chat/completions", body: $0) }
        let chunk = try #require(writer.finish())
        #expect(chunk.lastLine == 1 && chunk.lineCount == 1)
        let bytes = Array(chunk.bytes.readableBytesView)
        #expect(bytes.count == BatchLine.size(id: "dfr_abc", endpoint: "/v1/chat/completions", bodyBytes: body.count))
        #expect(bytes.last == 0x0A)
        #expect(bytes.filter { $0 == 0x0A }.count == 1)
        let view = try JSONObjectView(bytes.dropLast())
        #expect(view.string("custom_id") == "dfr_abc")
        #expect(view.string("method") == "POST")
        #expect(view.string("url") == "/v1/chat/completions")
        #expect(Array(view.raw("body")!) == body)
    }

    @Test func foldingLineBreaksKeepsTheJSONValueIntact() throws {
        let pretty = "{\n  \"model\": \"m\",\r\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"a\\nb\"}\n  ]\n}\n"
        var body = Array(pretty.utf8)
        BatchLine.foldLineBreaks(&body)
        #expect(!body.contains(0x0A) && !body.contains(0x0D))
        let before = try JSONSerialization.jsonObject(with: Data(pretty.utf8)) as? NSDictionary
        let after = try JSONSerialization.jsonObject(with: Data(body)) as? NSDictionary
        #expect(before == after)
    }

    @Test func splitterYieldsLinesAcrossChunkBoundaries() throws {
        var splitter = LineSplitter(maxLine: 1024)
        var lines: [String] = []
        for chunk in ["{\"a\":1}\n{\"b\"", ":2}\r\n\n{\"c\":", "3}"] {
            try splitter.feed(ByteBuffer(string: chunk)) { lines.append(String(decoding: $0, as: UTF8.self)) }
        }
        if let last = splitter.finish() { lines.append(String(decoding: last, as: UTF8.self)) }
        #expect(lines == [#"{"a":1}"#, #"{"b":2}"#, #"{"c":3}"#])
    }

    @Test func splitterRefusesAnEndlessLine() {
        var splitter = LineSplitter(maxLine: 8)
        #expect(throws: LineSplitter.LineTooLong.self) {
            try splitter.feed(ByteBuffer(string: "0123456789")) { _ in }
        }
    }

    @Test func outputLineKeepsTheProviderBodyByteForByte() throws {
        let body = #"{"id":"chatcmpl-1","object":"chat.completion","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#
        let line = #"{"id":"batch_req_1","custom_id":"dfr_x","response":{"status_code":200,"request_id":"req-1","body":"# + body + #"},"error":null}"#
        let parsed = try OutputLine.parse(Array(line.utf8))
        #expect(parsed.customID == "dfr_x")
        #expect(parsed.response == StoredResponse(statusCode: 200, requestID: "req-1", body: Array(body.utf8)))
        #expect(parsed.usage == TokenUsage(promptTokens: 12, completionTokens: 5))
        #expect(parsed.error == nil)
    }

    @Test func outputLineReadsANotExecutedRow() throws {
        let line = #"{"id":"r","custom_id":"dfr_y","response":null,"error":{"code":"batch_expired","message":"expired"}}"#
        let parsed = try OutputLine.parse(Array(line.utf8))
        #expect(parsed.response == nil)
        #expect(parsed.error == DeferredError(code: "batch_expired", message: "expired"))
    }

    @Test func malformedOutputLinesAreRefused() {
        #expect(throws: OutputLine.Malformed.self) { try OutputLine.parse(Array(#"{"response":null}"#.utf8)) }
        #expect(throws: OutputLine.Malformed.self) { try OutputLine.parse(Array("not json".utf8)) }
    }
}
