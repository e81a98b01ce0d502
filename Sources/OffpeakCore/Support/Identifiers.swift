/// Random, URL-safe identifiers with a type prefix (`dfr_…`, `bat_…`).
public enum Identifier {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    public static func make(prefix: String, length: Int = 24) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = Array(prefix.utf8)
        bytes.reserveCapacity(bytes.count + length)
        for _ in 0..<length {
            bytes.append(alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func deferred() -> String { make(prefix: "dfr_") }
    public static func batch() -> String { make(prefix: "bat_") }
}
