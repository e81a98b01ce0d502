import Crypto
import Foundation

/// Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed
/// with the base64-decoded part of each `whsec_…` secret. Several secrets sign at once during a
/// rotation; their signatures are separated by spaces.
public struct WebhookSigner: Sendable {
    public struct InvalidSecret: Error, CustomStringConvertible {
        public let description: String
    }

    /// One HMAC per secret with its key already taken in: a signature copies it and goes on from
    /// there, rather than deriving the key's inner and outer pads again for every message.
    private let macs: [HMAC<SHA256>]

    /// `secrets`: one or more `whsec_…` values, separated by spaces or commas.
    public init(secrets: String) throws {
        let parts = secrets.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        guard !parts.isEmpty else { throw InvalidSecret(description: "no webhook secret given") }
        macs = try parts.map { secret in
            let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
            guard let bytes = Data(base64Encoded: encoded), bytes.count >= 16 else {
                throw InvalidSecret(description: "a webhook secret must be whsec_ followed by at least 16 base64-encoded bytes")
            }
            return HMAC<SHA256>(key: SymmetricKey(data: bytes))
        }
    }

    /// A new secret: `whsec_` and 32 random bytes in base64.
    public static func generateSecret() -> String {
        "whsec_" + SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// The `webhook-signature` header value for one attempt.
    public func signature(id: String, timestamp: Int, body: some Sequence<UInt8>) -> String {
        let prefix = Array("\(id).\(timestamp).".utf8)
        let body = Array(body)
        return macs.map { prepared in
            var mac = prepared
            mac.update(data: prefix)
            mac.update(data: body)
            return "v1," + Data(mac.finalize()).base64EncodedString()
        }.joined(separator: " ")
    }

    public func headers(id: String, timestamp: Int, body: [UInt8]) -> [(String, String)] {
        [
            ("webhook-id", id), ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", signature(id: id, timestamp: timestamp, body: body)),
        ]
    }
}
