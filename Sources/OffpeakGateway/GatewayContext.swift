import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request context of the gateway: who is calling.
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Hash of the client key presented; empty when client auth is off.
    public var owner = ""

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// The owner a client key's requests are kept under: the first 16 bytes of its SHA-256, in hex
    /// (reports label it with the first 12 digits).
    public static func owner(ofKey key: String) -> String {
        SHA256.hash(data: Array(key.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}

/// Client keys (`OFFPEAK_API_KEYS`): every `/v1` call must present one. Only hashes are kept.
struct ClientAuthMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let keyHashes: Set<String>
    /// Anthropic's SDKs present the key as `x-api-key`.
    static let anthropicKey = HTTPField.Name("x-api-key")!

    init(keys: [String]) {
        keyHashes = Set(keys.map(GatewayContext.owner(ofKey:)))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keyHashes.isEmpty, request.uri.path.hasPrefix("/v1/") || request.uri.path == "/v1" else {
            return try await next(request, context)
        }
        guard let token = request.bearerToken ?? request.headers[Self.anthropicKey] else {
            throw OpenAIError(
                .unauthorized, "You didn't provide an API key. Provide it as 'Authorization: Bearer YOUR_KEY'.",
                code: "missing_api_key")
        }
        let hash = GatewayContext.owner(ofKey: token)
        guard keyHashes.contains(hash) else {
            throw OpenAIError(.unauthorized, "Incorrect API key provided.", code: "invalid_api_key")
        }
        var context = context
        context.owner = hash
        return try await next(request, context)
    }
}

extension Request {
    /// The key in `Authorization: Bearer <key>`, if the call presents one.
    var bearerToken: String? {
        guard let header = headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }
}
