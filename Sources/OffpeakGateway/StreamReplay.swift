import Foundation

/// Turns a `chat.completion` into the server-sent events a streaming call would have received:
/// a first `chat.completion.chunk` with each choice's role, one with its content (and tool calls),
/// one with its `finish_reason`, a last one with `usage` when the answer had it, then `data: [DONE]`.
/// Built with Foundation: it runs once per replayed answer, not on the accept path.
enum StreamReplay {
    static func events(from completion: [UInt8]) -> [UInt8]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(completion)) as? [String: Any],
            let choices = object["choices"] as? [[String: Any]]
        else { return nil }
        let base: [String: Any] = [
            "id": object["id"] ?? "chatcmpl-replay", "object": "chat.completion.chunk",
            "created": object["created"] ?? Int(Date().timeIntervalSince1970), "model": object["model"] ?? "",
        ]
        var chunks: [[String: Any]] = []
        func chunk(_ choices: [[String: Any]]) -> [String: Any] {
            var chunk = base
            if let fingerprint = object["system_fingerprint"] { chunk["system_fingerprint"] = fingerprint }
            chunk["choices"] = choices
            return chunk
        }
        chunks.append(chunk(choices.map { choice in
            let message = choice["message"] as? [String: Any] ?? [:]
            return ["index": choice["index"] ?? 0, "delta": ["role": message["role"] ?? "assistant", "content": ""], "finish_reason": NSNull()]
        }))
        chunks.append(chunk(choices.map { choice in
            let message = choice["message"] as? [String: Any] ?? [:]
            var delta: [String: Any] = [:]
            for key in ["content", "reasoning_content", "refusal"] { if let value = message[key], !(value is NSNull) { delta[key] = value } }
            if let calls = message["tool_calls"] as? [[String: Any]] {
                delta["tool_calls"] = calls.enumerated().map { index, call in call.merging(["index": index]) { old, _ in old } }
            }
            return ["index": choice["index"] ?? 0, "delta": delta, "finish_reason": NSNull()]
        }))
        chunks.append(chunk(choices.map { choice in
            ["index": choice["index"] ?? 0, "delta": [String: Any](), "finish_reason": choice["finish_reason"] ?? "stop"]
        }))
        if let usage = object["usage"] {
            var last = chunk([])
            last["usage"] = usage
            chunks.append(last)
        }
        var bytes: [UInt8] = []
        for chunk in chunks {
            guard let data = try? JSONSerialization.data(withJSONObject: chunk, options: [.withoutEscapingSlashes]) else { return nil }
            bytes += Array("data: ".utf8) + Array(data) + Array("\n\n".utf8)
        }
        bytes += Array("data: [DONE]\n\n".utf8)
        return bytes
    }
}
