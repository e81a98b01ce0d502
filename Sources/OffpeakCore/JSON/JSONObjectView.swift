/// A validated view of one JSON object's top-level members, without building Foundation objects.
///
/// The accept path needs `model` and `stream` from bodies of up to 6 MiB, and the result splitter
/// needs the byte range of `response.body` so that the provider's answer is kept byte for byte.
/// Both read members through this view: the whole text is validated (RFC 8259), and each member is
/// a key and the byte range of its raw value.
public struct JSONObjectView: Sendable {
    public enum Kind: Sendable, Equatable {
        case object, array, string, number, bool, null
    }

    public struct Member: Sendable {
        public let key: String
        public let kind: Kind
        /// The raw value, as it stands in the text (for strings: with its quotes).
        public let range: Range<Int>
    }

    /// The whole text the view was parsed from (a nested view shares its parent's).
    public let bytes: [UInt8]
    /// Where this object stands in `bytes`.
    public let range: Range<Int>
    public let members: [Member]
    /// The members of nested objects recorded by the one parse, by the offset of their brace.
    private let nested: [Int: [Member]]

    /// Parses `bytes` as one JSON object (surrounding whitespace allowed). `nestedDepth` > 0 also
    /// records the members of objects nested that deep, so `object(_:)` reads them without a
    /// second scan of the text.
    public init(_ bytes: [UInt8], nestedDepth: Int = 0) throws(JSONSyntaxError) {
        self.bytes = bytes
        self.range = bytes.indices
        (self.members, self.nested) = try bytes.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in
            var parser = JSONParser(buffer, recordDepth: nestedDepth)
            let members = try parser.parseTopLevelObject()
            return (members, parser.nested)
        }
    }

    public init<C: Collection<UInt8>>(_ bytes: C, nestedDepth: Int = 0) throws(JSONSyntaxError) {
        try self.init(Array(bytes), nestedDepth: nestedDepth)
    }

    private init(bytes: [UInt8], range: Range<Int>, members: [Member], nested: [Int: [Member]]) {
        self.bytes = bytes
        self.range = range
        self.members = members
        self.nested = nested
    }

    public func member(_ key: String) -> Member? {
        members.first { $0.key == key }
    }

    public func raw(_ key: String) -> ArraySlice<UInt8>? {
        member(key).map { bytes[$0.range] }
    }

    /// The decoded value of a string member; nil when absent or not a string.
    public func string(_ key: String) -> String? {
        guard let member = member(key), member.kind == .string else { return nil }
        return JSONParser.decodeString(bytes[member.range])
    }

    public func bool(_ key: String) -> Bool? {
        guard let member = member(key), member.kind == .bool else { return nil }
        return bytes[member.range.lowerBound] == UInt8(ascii: "t")
    }

    public func int(_ key: String) -> Int? {
        guard let member = member(key), member.kind == .number else { return nil }
        return Int(String(decoding: bytes[member.range], as: UTF8.self))
    }

    public func isNull(_ key: String) -> Bool {
        member(key)?.kind == .null
    }

    /// A nested object member: from what the first parse recorded, or parsed as a view of its own.
    public func object(_ key: String) -> JSONObjectView? {
        guard let member = member(key), member.kind == .object else { return nil }
        if let members = nested[member.range.lowerBound] {
            return JSONObjectView(bytes: bytes, range: member.range, members: members, nested: nested)
        }
        return try? JSONObjectView(bytes[member.range])
    }
}

extension JSONObjectView {
    /// The objects of an array member (other elements skipped); nil when absent or not an array.
    public func objects(_ key: String) -> [JSONObjectView]? {
        guard let member = member(key), member.kind == .array else { return nil }
        let slice = Array(bytes[member.range])
        guard
            let elements = try? slice.withUnsafeBufferPointer({ buffer throws(JSONSyntaxError) in
                var parser = JSONParser(buffer)
                return try parser.parseTopLevelArray()
            })
        else { return nil }
        return elements.compactMap { element in
            element.kind == .object ? try? JSONObjectView(slice[element.range]) : nil
        }
    }

    /// The string members of an object member, as a dictionary (other members skipped).
    public func strings(_ key: String) -> [String: String]? {
        guard let object = object(key) else { return nil }
        var values: [String: String] = [:]
        for member in object.members where member.kind == .string {
            values[member.key] = object.string(member.key)
        }
        return values
    }
}

public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    public var description: String { "\(reason) at byte \(offset)" }
}

extension JSONObjectView {
    /// The object without the named members; the others are kept byte for byte, in order.
    public func removing(_ keys: Set<String>) -> [UInt8] {
        guard members.contains(where: { keys.contains($0.key) }) else { return Array(bytes[range]) }
        var writer = JSONWriter(reservingCapacity: bytes.count)
        writer.beginObject()
        for member in members where !keys.contains(member.key) {
            writer.key(member.key)
            writer.raw(bytes[member.range])
        }
        writer.endObject()
        return writer.bytes
    }
}
