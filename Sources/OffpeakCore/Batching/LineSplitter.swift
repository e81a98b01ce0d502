import NIOCore

/// Splits a byte stream into lines without holding more than one line at a time.
public struct LineSplitter: Sendable {
    public struct LineTooLong: Error, CustomStringConvertible {
        let limit: Int
        public var description: String { "a line is longer than \(limit) bytes" }
    }

    private var partial: [UInt8] = []
    private let maxLine: Int

    public init(maxLine: Int) {
        self.maxLine = maxLine
    }

    public mutating func feed(_ buffer: ByteBuffer, _ emit: ([UInt8]) throws -> Void) throws {
        try buffer.withUnsafeReadableBytes { raw in
            var start = 0
            while let offset = raw[start...].firstIndex(of: 0x0A) {
                partial.append(contentsOf: raw[start..<offset])
                if partial.last == 0x0D { partial.removeLast() }
                if !partial.isEmpty { try emit(partial) }
                partial.removeAll(keepingCapacity: true)
                start = offset + 1
            }
            partial.append(contentsOf: raw[start...])
            guard partial.count <= maxLine else { throw LineTooLong(limit: maxLine) }
        }
    }

    public mutating func finish() -> [UInt8]? {
        defer { partial = [] }
        let trimmed = partial.last == 0x0D ? Array(partial.dropLast()) : partial
        return trimmed.isEmpty ? nil : trimmed
    }
}
