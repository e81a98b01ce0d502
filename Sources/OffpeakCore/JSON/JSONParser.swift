/// A strict RFC 8259 validator that records the members of the top-level object, and of the
/// objects nested in it down to `recordDepth` levels (so that a caller reads nested members
/// without scanning the text again).
struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    private let recordDepth: Int
    /// Members of the nested objects recorded, by the offset of their opening brace.
    private(set) var nested: [Int: [JSONObjectView.Member]] = [:]
    private static let maxDepth = 512

    init(_ bytes: UnsafeBufferPointer<UInt8>, recordDepth: Int = 0) {
        self.bytes = bytes
        self.recordDepth = recordDepth
    }

    mutating func parseTopLevelObject() throws(JSONSyntaxError) -> [JSONObjectView.Member] {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else { throw fail("expected a JSON object") }
        index += 1
        var members: [JSONObjectView.Member] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                let keyStart = index
                try skipString()
                let key = Self.decodeString(bytes[keyStart..<index]) ?? ""
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                let valueStart = index
                let kind = try skipValue()
                members.append(.init(key: key, kind: kind, range: valueStart..<index))
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "}"))
                break
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected data after the object") }
        return members
    }

    /// The elements of a top-level array: each one's kind and byte range.
    mutating func parseTopLevelArray() throws(JSONSyntaxError) -> [(kind: JSONObjectView.Kind, range: Range<Int>)] {
        skipWhitespace()
        guard peek() == UInt8(ascii: "[") else { throw fail("expected a JSON array") }
        index += 1
        var elements: [(kind: JSONObjectView.Kind, range: Range<Int>)] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                let start = index
                let kind = try skipValue()
                elements.append((kind, start..<index))
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "]"))
                break
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected data after the array") }
        return elements
    }

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private func fail(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: index, reason: reason)
    }

    private mutating func expect(_ byte: UInt8) throws(JSONSyntaxError) {
        guard peek() == byte else {
            throw fail("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        index += 1
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func skipValue() throws(JSONSyntaxError) -> JSONObjectView.Kind {
        guard let byte = peek() else { throw fail("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"):
            try skipContainer(close: UInt8(ascii: "}"), keyed: true)
            return .object
        case UInt8(ascii: "["):
            try skipContainer(close: UInt8(ascii: "]"), keyed: false)
            return .array
        case UInt8(ascii: "\""):
            try skipString()
            return .string
        case UInt8(ascii: "t"):
            try skipLiteral("true")
            return .bool
        case UInt8(ascii: "f"):
            try skipLiteral("false")
            return .bool
        case UInt8(ascii: "n"):
            try skipLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try skipNumber()
            return .number
        default:
            throw fail("unexpected character")
        }
    }

    private mutating func skipContainer(close: UInt8, keyed: Bool) throws(JSONSyntaxError) {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nesting too deep") }
        defer { depth -= 1 }
        let start = index
        let recording = keyed && depth <= recordDepth
        var members: [JSONObjectView.Member] = []
        defer { if recording { nested[start] = members } }
        index += 1
        skipWhitespace()
        if peek() == close {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            var keyRange = index..<index
            if keyed {
                try skipString()
                keyRange = keyRange.lowerBound..<index
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
            }
            let valueStart = index
            let kind = try skipValue()
            if recording {
                members.append(.init(key: Self.decodeString(bytes[keyRange]) ?? "", kind: kind, range: valueStart..<index))
            }
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(close)
            return
        }
    }

    private mutating func skipLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end of input") }
        let pointer = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != pointer[offset] {
            throw fail("invalid literal")
        }
        index += count
    }

    private mutating func skipDigits() -> Int {
        let start = index
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    private mutating func skipNumber() throws(JSONSyntaxError) {
        if peek() == UInt8(ascii: "-") { index += 1 }
        if peek() == UInt8(ascii: "0") {
            index += 1
        } else if skipDigits() == 0 {
            throw fail("invalid number")
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard skipDigits() > 0 else { throw fail("invalid number") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() > 0 else { throw fail("invalid number") }
        }
    }

    private mutating func skipString() throws(JSONSyntaxError) {
        try expect(UInt8(ascii: "\""))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return
            case UInt8(ascii: "\\"):
                index += 1
                guard let escaped = peek() else { throw fail("unterminated string") }
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    index += 1
                    for _ in 0..<4 {
                        guard let hex = peek(), Self.hexValue(hex) != nil else {
                            throw fail("invalid unicode escape")
                        }
                        index += 1
                    }
                default:
                    throw fail("invalid escape")
                }
            case 0x00..<0x20:
                throw fail("control character in string")
            case 0x80...0xFF:
                try skipUTF8Sequence()
            default:
                index += 1
            }
        }
        throw fail("unterminated string")
    }

    /// Checks one multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates).
    private mutating func skipUTF8Sequence() throws(JSONSyntaxError) {
        let lead = bytes[index]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: throw fail("invalid UTF-8")
        }
        guard index + length <= bytes.count else { throw fail("invalid UTF-8") }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            let (low, high) = offset == 1 ? (lower, upper) : (UInt8(0x80), UInt8(0xBF))
            guard byte >= low, byte <= high else { throw fail("invalid UTF-8") }
        }
        index += length
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Decodes an already validated string literal, quotes included.
    static func decodeString(_ literal: some Collection<UInt8>) -> String? {
        let inner = literal.dropFirst().dropLast()
        guard inner.contains(UInt8(ascii: "\\")) else {
            return String(decoding: inner, as: UTF8.self)
        }
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        var iterator = Array(inner).makeIterator()
        var pendingHigh: UInt32?
        func flush() {
            if !utf8.isEmpty {
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                utf8.removeAll(keepingCapacity: true)
            }
        }
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                continue
            }
            flush()
            guard let escaped = iterator.next() else { return nil }
            let simple: Unicode.Scalar?
            switch escaped {
            case UInt8(ascii: "b"): simple = "\u{08}"
            case UInt8(ascii: "f"): simple = "\u{0C}"
            case UInt8(ascii: "n"): simple = "\n"
            case UInt8(ascii: "r"): simple = "\r"
            case UInt8(ascii: "t"): simple = "\t"
            case UInt8(ascii: "u"): simple = nil
            default: simple = Unicode.Scalar(escaped)
            }
            if let simple {
                scalars.append(simple)
                continue
            }
            var code: UInt32 = 0
            for _ in 0..<4 {
                guard let hex = iterator.next(), let value = hexValue(hex) else { return nil }
                code = code << 4 | UInt32(value)
            }
            if (0xD800...0xDBFF).contains(code) {
                pendingHigh = code
                continue
            }
            if (0xDC00...0xDFFF).contains(code), let high = pendingHigh {
                code = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
            }
            pendingHigh = nil
            scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
        }
        flush()
        return String(scalars)
    }
}
