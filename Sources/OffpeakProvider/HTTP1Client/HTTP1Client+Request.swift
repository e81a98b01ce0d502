import NIOCore
import NIOHTTP1

extension HTTP1Client {
    /// Where a request goes: scheme, host and port (the pool's key), and the path with its query.
    public struct Target: Hashable, Sendable {
        public let secure: Bool
        public let host: String
        public let port: Int
        /// The path and query, as sent on the request line (`/` when the URL names none).
        public private(set) var path: String

        /// The value of the `Host` header: the port only when it is not the scheme's own.
        var authority: String {
            let name = host.contains(":") ? "[\(host)]" : host
            return port == (secure ? 443 : 80) ? name : "\(name):\(port)"
        }

        var key: PoolKey { PoolKey(secure: secure, host: host, port: port) }

        /// The same scheme, host and port, at this target's path (less a trailing `/`) followed by
        /// `path` (which starts with `/` and may carry a query): an upstream's base URL is parsed
        /// once, and each call only appends its own path.
        public func appending(path suffix: some StringProtocol) -> Target {
            var copy = self
            let base = path.hasSuffix("/") ? path.dropLast() : Substring(path)
            copy.path = String(base) + suffix
            return copy
        }

        /// Parses `http://host[:port][/path][?query]` or `https://…`; nil for any other URL.
        /// User information (`user:pass@`) and fragments are refused rather than guessed at.
        public init?(url: String) {
            let secure: Bool
            let rest: Substring
            if url.hasPrefix("http://") {
                (secure, rest) = (false, url.dropFirst(7))
            } else if url.hasPrefix("https://") {
                (secure, rest) = (true, url.dropFirst(8))
            } else {
                return nil
            }
            let pathStart = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            let authority = rest[..<pathStart]
            guard !authority.isEmpty, !authority.contains("@"), !rest.contains("#") else { return nil }
            var host: Substring
            var port: Int? = nil
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { return nil }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":"), let number = Int(after.dropFirst()) else { return nil }
                    port = number
                }
            } else if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                guard let number = Int(authority[authority.index(after: colon)...]) else { return nil }
                port = number
            } else {
                host = authority
            }
            guard !host.isEmpty, (1...65535).contains(port ?? 80) else { return nil }
            let path = rest[pathStart...]
            self.secure = secure
            self.host = String(host)
            self.port = port ?? (secure ? 443 : 80)
            self.path = path.isEmpty ? "/" : path.hasPrefix("?") ? "/" + path : String(path)
        }
    }

    /// The pool's key: connections are shared by requests to the same scheme, host and port.
    struct PoolKey: Hashable, Sendable {
        let secure: Bool
        let host: String
        let port: Int
    }

    /// One request: its target, method, headers (the client adds `Host` and the body's framing)
    /// and body.
    public struct Request: Sendable {
        public var target: Target
        public var method: HTTPMethod
        public var headers: HTTPHeaders
        public var body: Body
        /// Whether sending the request twice does no more than sending it once: true for the
        /// methods HTTP defines so, and for a request with an `Idempotency-Key`; a caller whose
        /// receiver deduplicates (a webhook's event id) may say so.
        public var idempotent: Bool
        /// When not empty, the only addresses the request may be sent to, tried in order: the
        /// caller has vetted them (a webhook's host, resolved and checked at this attempt), so the
        /// host's name is not looked up again, and a pooled connection is taken only if it is to
        /// one of them. `Host` and TLS (its server name and the certificate's check) keep the name.
        public var addresses: [SocketAddress]

        public init(
            target: Target, method: HTTPMethod = .GET, headers: HTTPHeaders = [:], body: Body = .none, idempotent: Bool? = nil,
            addresses: [SocketAddress] = []
        ) {
            self.addresses = addresses
            self.target = target
            self.method = method
            self.headers = headers
            self.body = body
            self.idempotent =
                idempotent ?? ([.GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE].contains(method) || headers.contains(name: "Idempotency-Key"))
        }
    }

    /// A request body: none, bytes in hand (sent with the head in one write, and sent again on a
    /// fresh connection if a pooled one turns out closed), or a stream written as it is read.
    public struct Body: Sendable {
        enum Storage: Sendable {
            case none
            case bytes(ByteBuffer)
            case stream(length: Int64?, write: @Sendable (_ write: @Sendable (ByteBuffer) async throws -> Void) async throws -> Void)
        }
        let storage: Storage

        public static let none = Body(storage: .none)

        public static func bytes(_ bytes: ByteBuffer) -> Body { Body(storage: .bytes(bytes)) }

        /// The parts of `sequence` in order; `length`, when known, is sent as `Content-Length`
        /// (otherwise the body is chunked).
        public static func stream<Parts: AsyncSequence & Sendable>(_ sequence: Parts, length: Int64?) -> Body
        where Parts.Element == ByteBuffer {
            Body(storage: .stream(length: length) { write in
                for try await part in sequence { try await write(part) }
            })
        }

        /// Whether the body can be sent a second time.
        var replayable: Bool {
            if case .stream = storage { return false }
            return true
        }
    }
}
