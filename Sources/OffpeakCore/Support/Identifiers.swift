/// Random, URL-safe identifiers with a type prefix (`dfr_…`, `bat_…`).
public enum Identifier {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    public static func make(prefix: String, length: Int = 24) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = Array(prefix.utf8)
        bytes.reserveCapacity(bytes.count + length)
        // Ten characters from each random word (62^10 < 2^64), so few calls to the system's source.
        var word: UInt64 = 0
        for index in 0..<length {
            if index % 10 == 0 { word = generator.next() }
            bytes.append(alphabet[Int(word % 62)])
            word /= 62
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func deferred() -> String { make(prefix: "dfr_") }
    public static func batch() -> String { make(prefix: "bat_") }
    /// A passthrough call, on the usage ledger.
    public static func call() -> String { make(prefix: "call_") }
}
