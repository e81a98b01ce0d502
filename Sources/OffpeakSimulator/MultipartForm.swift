import Foundation

/// Reads a `multipart/form-data` body (RFC 7578) into its named parts.
struct MultipartForm {
    struct Part {
        var name: String
        var filename: String?
        /// Copied out of the body: the only copy of an uploaded file the simulator makes.
        var content: [UInt8]
    }

    var parts: [Part] = []

    func part(_ name: String) -> Part? {
        parts.first { $0.name == name }
    }

    static func boundary(fromContentType contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingSpaces().lowercased() == "boundary" else { continue }
            var value = pair[1].trimmingSpaces()
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    /// Parses `body` in place (an upload of some 60 MB is read once, not copied first).
    init?(body: UnsafeRawBufferPointer, boundary: String) {
        let delimiter = Array("--\(boundary)".utf8)
        let separator = Array("\r\n--\(boundary)".utf8)
        guard var position = Self.find(delimiter, in: body, from: 0) else { return nil }
        position += delimiter.count
        while position + 2 <= body.count {
            if body[position] == UInt8(ascii: "-") && body[position + 1] == UInt8(ascii: "-") { break }
            guard body[position] == 0x0D, body[position + 1] == 0x0A else { return nil }
            position += 2
            guard let headerEnd = Self.find(Array("\r\n\r\n".utf8), in: body, from: position) else { return nil }
            let headers = String(decoding: body[position..<headerEnd], as: UTF8.self)
            let contentStart = headerEnd + 4
            guard let contentEnd = Self.find(separator, in: body, from: contentStart) else { return nil }
            var part = Part(name: "", filename: nil, content: Array(body[contentStart..<contentEnd]))
            for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
                part.name = Self.parameter("name", in: line) ?? ""
                part.filename = Self.parameter("filename", in: line)
            }
            parts.append(part)
            position = contentEnd + separator.count
        }
    }

    private static func parameter(_ name: String, in line: Substring) -> String? {
        for item in line.split(separator: ";").dropFirst() {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingSpaces() == name else { continue }
            return pair[1].trimmingSpaces().trimmingCharacters(in: "\"")
        }
        return nil
    }

    /// Where `needle` next occurs in `haystack` at or after `start`: `memchr` to its first byte
    /// (which the JSONL between two boundaries, a CR, holds only at a boundary), then a compare.
    static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = haystack.baseAddress, let first = needle.first else { return nil }
        var index = start
        while index + needle.count <= haystack.count {
            guard let hit = memchr(base + index, Int32(first), haystack.count - needle.count + 1 - index) else { return nil }
            let candidate = base.distance(to: UnsafeRawPointer(hit))
            let matches = needle.withUnsafeBytes { memcmp(base + candidate, $0.baseAddress!, needle.count) == 0 }
            if matches { return candidate }
            index = candidate + 1
        }
        return nil
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }

    func trimmingCharacters(in characters: String) -> String {
        String(drop(while: { characters.contains($0) }).reversed().drop(while: { characters.contains($0) }).reversed())
    }
}
