import Foundation

/// What the simulated provider answers on each endpoint it serves, in real time and in batches
/// alike (the same body gets the same answer): a chat completion, a text completion, an
/// embedding list, a response.
enum SimulatedEndpoints {
    /// The endpoints a batch may name.
    static let batchable: Set<String> = [
        "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses", "/v1/chat/ds-test",
    ]

    static func result(endpoint: String, body: [String: Any]) -> [String: Any] {
        switch endpoint {
        case "/v1/completions": textCompletion(SimulatedModel.answer(to: body))
        case "/v1/embeddings": embeddings(body)
        case "/v1/responses": response(SimulatedModel.answer(to: body))
        default: SimulatedModel.completionObject(SimulatedModel.answer(to: body))
        }
    }

    static func textCompletion(_ answer: SimulatedModel.Answer) -> [String: Any] {
        [
            "id": "cmpl-" + answer.id.dropFirst("chatcmpl-".count), "object": "text_completion", "created": answer.created,
            "model": answer.model,
            "choices": [["text": answer.content, "index": 0, "logprobs": NSNull(), "finish_reason": "stop"] as [String: Any]],
            "usage": [
                "prompt_tokens": answer.promptTokens, "completion_tokens": answer.completionTokens,
                "total_tokens": answer.promptTokens + answer.completionTokens,
            ],
        ]
    }

    static func response(_ answer: SimulatedModel.Answer) -> [String: Any] {
        let suffix = answer.id.dropFirst("chatcmpl-".count)
        return [
            "id": "resp_" + suffix, "object": "response", "created_at": answer.created, "status": "completed", "model": answer.model,
            "output": [
                [
                    "type": "message", "id": "msg_" + suffix, "status": "completed", "role": "assistant",
                    "content": [["type": "output_text", "text": answer.content, "annotations": [] as [Any]] as [String: Any]],
                ] as [String: Any]
            ],
            "usage": [
                "input_tokens": answer.promptTokens, "input_tokens_details": ["cached_tokens": 0],
                "output_tokens": answer.completionTokens, "output_tokens_details": ["reasoning_tokens": 0],
                "total_tokens": answer.promptTokens + answer.completionTokens,
            ],
            "error": NSNull(), "incomplete_details": NSNull(), "instructions": NSNull(), "metadata": [:] as [String: Any],
            "parallel_tool_calls": true, "tool_choice": "auto", "tools": [] as [Any], "text": ["format": ["type": "text"]],
        ]
    }

    /// One vector of eight numbers per input text, derived from the model and the text.
    static func embeddings(_ body: [String: Any]) -> [String: Any] {
        let model = body["model"] as? String ?? "unknown"
        let texts = SimulatedModel.messageTexts(body)
        let data: [[String: Any]] = texts.enumerated().map { index, text in
            var hasher = FNV1a()
            hasher.add(model)
            hasher.add(text)
            var seed = hasher.value
            let vector: [Double] = (0..<8).map { _ in
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Double(Int(seed >> 44) % 2000 - 1000) / 1000
            }
            return ["object": "embedding", "index": index, "embedding": vector]
        }
        let tokens = texts.reduce(0) { $0 + SimulatedModel.wordCount($1) + 1 }
        return ["object": "list", "data": data, "model": model, "usage": ["prompt_tokens": tokens, "total_tokens": tokens]]
    }
}
