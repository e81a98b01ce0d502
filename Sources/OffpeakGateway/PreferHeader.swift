/// The `Prefer` request header (RFC 7240): `respond-async` and `wait=N`, among any others.
/// Read on every chat completion, so it is scanned as bytes rather than through Foundation.
struct PreferHeader: Equatable {
    var respondAsync = false
    var wait: Double?

    /// Reads every `Prefer` field value given (a header may repeat).
    init(_ values: [String]) {
        for value in values {
            for preference in Array(value.utf8).split(separator: UInt8(ascii: ",")) {
                // A preference is `token[=value]` followed by `;parameters`, which we ignore.
                let head = preference.split(separator: UInt8(ascii: ";"), maxSplits: 1, omittingEmptySubsequences: false).first ?? []
                let pair = head.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(decoding: Self.trimmed(pair.first ?? []), as: UTF8.self).lowercased()
                var argument = pair.count > 1 ? Self.trimmed(pair[1]) : []
                if argument.count >= 2, argument.first == UInt8(ascii: "\""), argument.last == UInt8(ascii: "\"") {
                    argument = argument.dropFirst().dropLast()
                }
                switch name {
                case "respond-async": respondAsync = true
                case "wait":
                    if let seconds = Double(String(decoding: argument, as: UTF8.self)), seconds >= 0, seconds.isFinite { wait = seconds }
                default: continue
                }
            }
        }
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let start = bytes.firstIndex(where: { !isSpace($0) }), let end = bytes.lastIndex(where: { !isSpace($0) }) else {
            return bytes[bytes.endIndex...]
        }
        return bytes[start...end]
    }
}
