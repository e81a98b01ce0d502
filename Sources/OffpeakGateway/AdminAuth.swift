import HTTPTypes
import Hummingbird

/// Operator keys (`OFFPEAK_ADMIN_KEYS`) guard `/admin/v1` (contract section 10): an operator key
/// passes, a client key is refused (403 `admin_key_required`), no key or an unknown one is 401.
/// With no operator keys configured, the operator API is served only while the gateway listens
/// on a loopback address (anyone who can reach it is on the machine), and refused otherwise.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let adminHashes: Set<String>
    let clientHashes: Set<String>
    let loopbackOnly: Bool

    init(adminKeys: [String], clientKeys: [String], host: String) {
        adminHashes = Set(adminKeys.map(GatewayContext.owner(ofKey:)))
        clientHashes = Set(clientKeys.map(GatewayContext.owner(ofKey:)))
        loopbackOnly = Self.isLoopback(host)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    static let required = "admin_key_required"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !adminHashes.isEmpty else {
            guard loopbackOnly else {
                throw OpenAIError(
                    .forbidden, "No operator keys are configured (OFFPEAK_ADMIN_KEYS): the operator API is served only on a loopback address.",
                    type: "permission_error", code: Self.required)
            }
            return try await next(request, context)
        }
        guard let token = request.bearerToken else {
            throw OpenAIError(
                .unauthorized, "Present an operator key as 'Authorization: Bearer YOUR_ADMIN_KEY'.", code: "missing_api_key")
        }
        let hash = GatewayContext.owner(ofKey: token)
        if adminHashes.contains(hash) { return try await next(request, context) }
        if clientHashes.contains(hash) {
            throw OpenAIError(.forbidden, "A client key cannot use the operator API.", type: "permission_error", code: Self.required)
        }
        throw OpenAIError(.unauthorized, "Incorrect operator key provided.", code: "invalid_api_key")
    }
}
