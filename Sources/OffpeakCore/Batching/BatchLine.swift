import NIOCore

/// The JSONL input line of one request: `{"custom_id":…,"method":"POST","url":…,"body":…}\n`
/// (written by `BatchFileWriter`).
public enum BatchLine {
    /// The exact size of the line, newline included, computed without building it.
    public static func size(id: String, endpoint: String, bodyBytes: Int) -> Int {
        // {"custom_id":"ID","method":"POST","url":"URL","body":BODY}\n
        let fixed = #"{"custom_id":"","method":"POST","url":"","body":}"#.utf8.count + 1
        return fixed + JSONWriter.quoted(id).count - 2 + JSONWriter.quoted(endpoint).count - 2 + bodyBytes
    }

    /// Makes a valid JSON body fit on one line. Raw line breaks cannot stand inside JSON strings,
    /// so every one in a valid text is whitespace between tokens and becomes a space.
    public static func foldLineBreaks(_ body: inout [UInt8]) {
        guard body.contains(0x0A) || body.contains(0x0D) else { return }
        for index in body.indices where body[index] == 0x0A || body[index] == 0x0D {
            body[index] = 0x20
        }
    }
}

/// A run of a batch's JSONL file, rendered by a store straight from its rows: each body is copied
/// once, from the store's own buffer into the chunk that goes to the upload.
public struct BatchFileChunk: Sendable {
    public var bytes: ByteBuffer
    /// The number of the last line written (1-based), to continue after.
    public var lastLine: Int
    public var lineCount: Int

    public init(bytes: ByteBuffer, lastLine: Int, lineCount: Int) {
        self.bytes = bytes
        self.lastLine = lastLine
        self.lineCount = lineCount
    }
}

/// Writes lines into a `BatchFileChunk`.
public struct BatchFileWriter {
    private var bytes: ByteBuffer
    private var lastLine = 0
    private var lineCount = 0

    public init(capacity: Int = 256 << 10) {
        bytes = ByteBuffer()
        bytes.reserveCapacity(capacity)
    }

    public mutating func append(line: Int, id: String, endpoint: String, body: UnsafeRawBufferPointer) {
        bytes.writeString(#"{"custom_id":"#)
        bytes.writeBytes(JSONWriter.quoted(id))
        bytes.writeString(#","method":"POST","url":"#)
        bytes.writeBytes(JSONWriter.quoted(endpoint))
        bytes.writeString(#","body":"#)
        bytes.writeBytes(body)
        bytes.writeString("}\n")
        lastLine = line
        lineCount += 1
    }

    /// The chunk, or nil when no line was written.
    public func finish() -> BatchFileChunk? {
        lineCount == 0 ? nil : BatchFileChunk(bytes: bytes, lastLine: lastLine, lineCount: lineCount)
    }
}
