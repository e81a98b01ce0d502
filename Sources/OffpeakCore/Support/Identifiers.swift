/// URL-safe identifiers with a type prefix (`dfr_…`, `bat_…`).
public enum Identifier {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    /// Characters of an ordered identifier that say when it was made: milliseconds since 1970 in
    /// base 62 (62^8 ms is some 6,900 years).
    static let timeCharacters = 8

    /// `length` random characters after `prefix`.
    public static func make(prefix: String, length: Int = 24) -> String {
        var bytes = Array(prefix.utf8)
        bytes.reserveCapacity(bytes.count + length)
        appendRandom(length, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `prefix`, the time of making in eight characters, then 16 random characters (95 bits): the
    /// identifiers a store keys its rows by. Made in order, they are inserted at the end of an
    /// index rather than all over it (a random key dirties a page of the index per row; these, a
    /// page per few hundred), and they sort by time because the alphabet is in ASCII order.
    public static func ordered(prefix: String, milliseconds: UInt64 = currentMilliseconds()) -> String {
        var bytes = Array(prefix.utf8)
        bytes.reserveCapacity(bytes.count + timeCharacters + 16)
        bytes.append(contentsOf: repeatElement(alphabet[0], count: timeCharacters))
        var time = milliseconds
        for index in stride(from: bytes.count - 1, through: bytes.count - timeCharacters, by: -1) {
            bytes[index] = alphabet[Int(time % 62)]
            time /= 62
        }
        appendRandom(16, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func currentMilliseconds() -> UInt64 {
        UInt64(max(0, SystemClock().now() * 1000))
    }

    /// Ten characters from each random word (62^10 < 2^64), so few calls to the system's source.
    private static func appendRandom(_ count: Int, to bytes: inout [UInt8]) {
        var generator = SystemRandomNumberGenerator()
        var word: UInt64 = 0
        for index in 0..<count {
            if index % 10 == 0 { word = generator.next() }
            bytes.append(alphabet[Int(word % 62)])
            word /= 62
        }
    }

    public static func deferred() -> String { ordered(prefix: "dfr_") }
    public static func batch() -> String { ordered(prefix: "bat_") }
    /// A passthrough call, on the usage ledger.
    public static func call() -> String { ordered(prefix: "call_") }
}
