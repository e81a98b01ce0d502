import Foundation

/// Which callback URLs the gateway will deliver to. Unless private targets are allowed, a URL
/// whose host is, or resolves to, a loopback, private, link-local, unique-local, multicast or
/// metadata address is refused, so that a callback can never reach into our own network.
public struct CallbackURLPolicy: Sendable {
    public var allowPrivate: Bool
    public var resolver: any HostResolver

    public init(allowPrivate: Bool, resolver: any HostResolver = SystemHostResolver()) {
        self.allowPrivate = allowPrivate
        self.resolver = resolver
    }

    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// A callback URL that passed, and the addresses its host was checked against.
    public struct Vetted: Sendable {
        public let url: URL
        /// What the host resolved to and was found public: a delivery connects to one of these and
        /// does not look the name up again, so that the name cannot point elsewhere between the
        /// check and the connection (DNS rebinding). Empty when no look-up was made: private
        /// targets are allowed, or the host is an address itself.
        public let addresses: [IPAddress]
    }

    /// Checks a URL's form, then its addresses; returns the URL as given.
    public func check(_ text: String) async throws(Refusal) -> URL {
        try await vet(text).url
    }

    /// Checks a URL's form, then its addresses; returns the URL and the addresses checked.
    public func vet(_ text: String) async throws(Refusal) -> Vetted {
        guard text.count <= 2048, let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
            let url = components.url
        else {
            throw Refusal(description: "Offpeak-Callback-Url must be an absolute http or https URL")
        }
        guard components.user == nil, components.password == nil else {
            throw Refusal(description: "Offpeak-Callback-Url must not carry credentials")
        }
        if allowPrivate { return Vetted(url: url, addresses: []) }
        let bareHost = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if let address = IPAddress(bareHost) {
            guard address.isPublic else { throw Refusal(description: "Offpeak-Callback-Url points to a private or loopback address") }
            return Vetted(url: url, addresses: [])
        }
        let lowered = bareHost.lowercased()
        if lowered == "localhost" || lowered.hasSuffix(".localhost") || lowered.hasSuffix(".internal") || lowered.hasSuffix(".local") {
            throw Refusal(description: "Offpeak-Callback-Url points to a private or loopback host")
        }
        let addresses = await resolver.addresses(of: bareHost)
        guard !addresses.isEmpty else { throw Refusal(description: "Offpeak-Callback-Url host '\(bareHost)' does not resolve") }
        guard addresses.allSatisfy(\.isPublic) else {
            throw Refusal(description: "Offpeak-Callback-Url resolves to a private or loopback address")
        }
        return Vetted(url: url, addresses: addresses)
    }
}

public protocol HostResolver: Sendable {
    func addresses(of host: String) async -> [IPAddress]
}

/// getaddrinfo, off the event loop.
public struct SystemHostResolver: HostResolver {
    public init() {}

    public func addresses(of host: String) async -> [IPAddress] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Self.resolve(host))
            }
        }
    }

    static func resolve(_ host: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if info.pointee.ai_family == AF_INET, let raw = info.pointee.ai_addr {
                raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    let value = UInt32(bigEndian: pointer.pointee.sin_addr.s_addr)
                    addresses.append(.v4([UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]))
                }
            } else if info.pointee.ai_family == AF_INET6, let raw = info.pointee.ai_addr {
                raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    var address = pointer.pointee.sin6_addr
                    let bytes = withUnsafeBytes(of: &address) { Array($0) }
                    addresses.append(.v6(bytes))
                }
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }
}

/// An IPv4 or IPv6 address, classified for the callback policy.
public enum IPAddress: Sendable, Equatable {
    case v4([UInt8])
    case v6([UInt8])

    /// The address in network order: 4 bytes, or 16.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let bytes), .v6(let bytes): bytes
        }
    }

    public init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let value = UInt32(bigEndian: v4.s_addr)
            self = .v4([UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: &v6) { Array($0) })
        } else {
            return nil
        }
    }

    /// False for loopback, private, shared, link-local (cloud metadata among them), unique-local,
    /// multicast, unspecified, documentation and reserved ranges.
    public var isPublic: Bool {
        switch self {
        case .v4(let b):
            switch (b[0], b[1]) {
            case (0, _), (10, _), (127, _), (169, 254), (192, 168), (224...255, _): return false
            case (172, 16...31), (100, 64...127), (198, 18...19): return false
            case (192, 0) where b[2] == 0 || b[2] == 2: return false
            case (198, 51) where b[2] == 100, (203, 0) where b[2] == 113: return false
            default: return true
            }
        case .v6(let b):
            if b.allSatisfy({ $0 == 0 }) { return false }  // ::
            if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return false }  // ::1
            if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF {  // ::ffff:a.b.c.d
                return IPAddress.v4(Array(b[12..<16])).isPublic
            }
            if b[0] == 0xFF { return false }  // multicast
            if b[0] & 0xFE == 0xFC { return false }  // fc00::/7 unique local
            if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return false }  // fe80::/10 link local
            if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8 { return false }  // documentation
            if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B { return IPAddress.v4(Array(b[12..<16])).isPublic }  // NAT64
            return true
        }
    }
}
