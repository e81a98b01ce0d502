import NIOCore

/// Reads what a passthrough call used from the provider's answer while it is relayed, keeping
/// little of it: a JSON answer is kept up to `limit` bytes and read at the end; a stream of
/// server-sent events is read event by event, keeping only the line in progress. Streams carry
/// their usage in a final chunk (`stream_options.include_usage`) or, for Anthropic, split between
/// `message_start` and `message_delta`: each count is the largest any event gave.
public struct AnswerMeter: Sendable {
    public static let limit = 4 << 20

    private enum Form {
        case json
        case events
    }

    private let form: Form
    private var kept: [UInt8] = []
    private var overflowed = false
    public private(set) var model: String?
    public private(set) var usage: TokenUsage?

    /// `contentType` is the answer's `Content-Type`.
    public init(contentType: String?) {
        form = contentType?.lowercased().hasPrefix("text/event-stream") == true ? .events : .json
    }

    public mutating func consume(_ chunk: ByteBuffer) {
        chunk.withUnsafeReadableBytes { bytes in
            switch form {
            case .json:
                guard !overflowed else { return }
                guard kept.count + bytes.count <= Self.limit else {
                    overflowed = true
                    kept = []
                    return
                }
                kept.append(contentsOf: bytes)
            case .events:
                for byte in bytes {
                    if byte == UInt8(ascii: "\n") {
                        event(kept)
                        kept.removeAll(keepingCapacity: true)
                    } else if kept.count < Self.limit {
                        kept.append(byte)
                    }
                }
            }
        }
    }

    /// Reads what is left; call once, when the answer has ended.
    public mutating func finish() {
        switch form {
        case .json:
            if !overflowed, let view = try? JSONObjectView(kept) { read(view) }
        case .events:
            event(kept)
        }
        kept = []
    }

    private static let dataPrefix = Array("data:".utf8)

    private mutating func event(_ line: [UInt8]) {
        guard line.starts(with: Self.dataPrefix) else { return }
        var payload = line.dropFirst(Self.dataPrefix.count)
        while payload.first == UInt8(ascii: " ") { payload = payload.dropFirst() }
        // Most chunks carry neither a model not yet seen nor usage: skip them without parsing.
        guard payload.first == UInt8(ascii: "{"), model == nil || payload.firstRange(of: Array(#""usage""#.utf8)) != nil,
            let view = try? JSONObjectView(payload)
        else { return }
        read(view)
    }

    private mutating func read(_ view: JSONObjectView) {
        // Anthropic's `message_start` wraps the message.
        let message = view.object("message")
        if model == nil { model = view.string("model") ?? message?.string("model") }
        guard let found = OutputLine.usage(in: view) ?? message.flatMap(OutputLine.usage(in:)) else { return }
        guard let known = usage else {
            usage = found
            return
        }
        usage = TokenUsage(
            promptTokens: max(known.promptTokens, found.promptTokens),
            completionTokens: max(known.completionTokens, found.completionTokens),
            cachedTokens: max(known.cachedTokens, found.cachedTokens), reasoningTokens: max(known.reasoningTokens, found.reasoningTokens))
    }
}
