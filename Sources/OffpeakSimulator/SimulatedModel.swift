import Foundation

/// The simulator's "model": a deterministic answer derived from the request, so that tests can
/// compare a batch result with what the real-time endpoint answers for the same body.
enum SimulatedModel {
    struct Answer {
        let id: String
        let created: Int
        let model: String
        let content: String
        let promptTokens: Int
        let completionTokens: Int
    }

    static func answer(to body: [String: Any]) -> Answer {
        let model = body["model"] as? String ?? "unknown"
        let texts = messageTexts(body)
        let lastUser = texts.last ?? ""
        var hasher = FNV1a()
        hasher.add(model)
        for text in texts { hasher.add(text) }
        let digest = hasher.value
        let topic = lastUser.split(separator: " ").prefix(8).joined(separator: " ")
        var content = "Simulated answer #\(digest % 10_000) from \(model): you said \"\(topic)\"."
        // `max_tokens` makes the answer that many words long, for tests and benchmarks of large results.
        if let limit = (body["max_tokens"] as? Int) ?? (body["max_completion_tokens"] as? Int), limit > 0 {
            let words = ["batch", "tokens", "queue", "result", "price", "model", "answer", "window"]
            var count = wordCount(content)
            var seed = digest
            while count < min(limit, 8192) {
                content += " " + words[Int(seed % UInt64(words.count))]
                seed = seed &* 6_364_136_223_846_793_005 &+ 1
                count += 1
            }
        }
        let promptTokens = texts.reduce(0) { $0 + wordCount($1) + 4 }
        return Answer(
            id: "chatcmpl-" + String(digest, radix: 16), created: 1_764_460_000 + Int(digest % 1_000_000), model: model,
            content: content, promptTokens: promptTokens, completionTokens: wordCount(content))
    }

    /// The texts the model reads: chat messages, a completion's `prompt`, an embedding's or a
    /// response's `input` (a string, a list of strings, or a list of message items).
    static func messageTexts(_ body: [String: Any]) -> [String] {
        if let messages = body["messages"] as? [[String: Any]] { return messages.map { text(of: $0["content"]) } }
        for key in ["input", "prompt"] {
            if let text = body[key] as? String { return [text] }
            if let items = body[key] as? [Any] {
                return items.compactMap { item in
                    if let text = item as? String { return text }
                    if let message = item as? [String: Any] { return text(of: message["content"]) }
                    return nil
                }
            }
        }
        return []
    }

    /// A message's content: a string, or the text of its parts.
    static func text(of content: Any?) -> String {
        if let text = content as? String { return text }
        if let parts = content as? [[String: Any]] { return parts.compactMap { $0["text"] as? String }.joined(separator: " ") }
        return ""
    }

    static func wordCount(_ text: String) -> Int {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" }).count
    }

    static func completionObject(_ answer: Answer) -> [String: Any] {
        [
            "id": answer.id, "object": "chat.completion", "created": answer.created, "model": answer.model,
            "choices": [
                [
                    "index": 0, "message": ["role": "assistant", "content": answer.content],
                    "finish_reason": "stop", "logprobs": NSNull(),
                ] as [String: Any]
            ],
            "usage": [
                "prompt_tokens": answer.promptTokens, "completion_tokens": answer.completionTokens,
                "total_tokens": answer.promptTokens + answer.completionTokens,
            ],
            "system_fingerprint": "offpeak-simulator",
        ]
    }

    /// The server-sent events of a streamed answer, one `data:` event per word.
    static func streamEvents(_ answer: Answer, includeUsage: Bool) -> [String] {
        func chunk(_ delta: [String: Any], finish: String?) -> String {
            let object: [String: Any] = [
                "id": answer.id, "object": "chat.completion.chunk", "created": answer.created, "model": answer.model,
                "choices": [["index": 0, "delta": delta, "finish_reason": finish ?? NSNull()] as [String: Any]],
            ]
            return "data: " + json(object) + "\n\n"
        }
        var events = [chunk(["role": "assistant", "content": ""], finish: nil)]
        let words = answer.content.split(separator: " ")
        for (index, word) in words.enumerated() {
            events.append(chunk(["content": (index == 0 ? "" : " ") + word], finish: nil))
        }
        events.append(chunk([:], finish: "stop"))
        if includeUsage {
            let usage: [String: Any] = [
                "id": answer.id, "object": "chat.completion.chunk", "created": answer.created, "model": answer.model,
                "choices": [] as [Any],
                "usage": [
                    "prompt_tokens": answer.promptTokens, "completion_tokens": answer.completionTokens,
                    "total_tokens": answer.promptTokens + answer.completionTokens,
                ],
            ]
            events.append("data: " + json(usage) + "\n\n")
        }
        events.append("data: [DONE]\n\n")
        return events
    }

    static func jsonBytes(_ object: Any) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    }

    static func json(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    static func errorObject(status: Int, message: String, type: String, code: String?) -> [String: Any] {
        ["error": ["message": message, "type": type, "param": NSNull(), "code": code ?? NSNull()] as [String: Any]]
    }
}

/// A small stable hash (FNV-1a, 64 bits): the same text gives the same answer in every process.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
        value ^= 0xFF
        value = value &* 0x100_0000_01b3
    }
}
