import HTTPTypes
import Hummingbird
import OffpeakCore

/// Who is an operator, for the operator API and the console alike: a key of
/// `OFFPEAK_ADMIN_KEYS`; a client key is refused as such. With no operator keys configured,
/// anyone who reaches a gateway listening on a loopback address (they are on the machine), and
/// no one otherwise. Only the keys' hashes are kept.
struct OperatorAccess: Sendable {
    let adminHashes: Set<String>
    let clientHashes: Set<String>
    let loopback: Bool

    init(adminKeys: [String], clientKeys: [String], host: String) {
        adminHashes = Set(adminKeys.map(GatewayContext.owner(ofKey:)))
        clientHashes = Set(clientKeys.map(GatewayContext.owner(ofKey:)))
        loopback = Self.isLoopback(host)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// No operator keys: the loopback rule decides.
    var keyless: Bool { adminHashes.isEmpty }
    /// No operator keys and reachable from elsewhere: closed to everyone.
    var closed: Bool { keyless && !loopback }

    enum Verdict {
        case `operator`(hash: String)
        case clientKey
        case unknown
    }

    /// What a presented key is.
    func verdict(ofKey key: String) -> Verdict {
        let hash = GatewayContext.owner(ofKey: key)
        if adminHashes.contains(hash) { return .operator(hash: hash) }
        return clientHashes.contains(hash) ? .clientKey : .unknown
    }

    static let required = "admin_key_required"
}

/// Operator keys guard `/admin/v1`: an operator key passes, a client key is refused (403
/// `admin_key_required`), no key or an unknown one is 401; the loopback rule when none are set.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let access: OperatorAccess

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !access.keyless else {
            guard access.loopback else {
                throw OpenAIError(
                    .forbidden, "No operator keys are configured (OFFPEAK_ADMIN_KEYS): the operator API is served only on a loopback address.",
                    type: "permission_error", code: OperatorAccess.required)
            }
            return try await next(request, context)
        }
        guard let token = request.bearerToken else {
            throw OpenAIError(
                .unauthorized, "Present an operator key as 'Authorization: Bearer YOUR_ADMIN_KEY'.", code: "missing_api_key")
        }
        switch access.verdict(ofKey: token) {
        case .operator: return try await next(request, context)
        case .clientKey:
            throw OpenAIError(.forbidden, "A client key cannot use the operator API.", type: "permission_error", code: OperatorAccess.required)
        case .unknown:
            throw OpenAIError(.unauthorized, "Incorrect operator key provided.", code: "invalid_api_key")
        }
    }
}
