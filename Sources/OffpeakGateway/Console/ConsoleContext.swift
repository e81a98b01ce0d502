import Foundation
import Hummingbird
import HummingbirdAuth
import Logging

/// The request context of `/console`: the gateway's, with the browser's session and the operator
/// it belongs to once signed in.
struct ConsoleContext: ChildRequestContext, SessionRequestContext, AuthRequestContext {
    var coreContext: CoreRequestContextStorage
    let sessions = SessionContext<ConsoleSession>()
    var identity: ConsoleOperator?

    init(context: GatewayContext) throws {
        coreContext = .init(source: context)
        // The router matched the path on the gateway's context: its parameters come along.
        coreContext.parameters = context.parameters
        coreContext.endpointPath = context.coreContext.endpointPath
    }

    /// Forms are small; a bigger body is refused before it is read.
    var maxUploadSize: Int { 16_384 }
}

/// What a browser's session holds: its CSRF token, whom it signed in as, and a notice to show
/// once on the next page. The operator key itself is never kept, only its hash.
struct ConsoleSession: Codable, Sendable {
    /// The hash of the operator key signed in with (as `GatewayContext.owner(ofKey:)`); empty for
    /// the operator of a loopback gateway without keys; nil until signed in.
    var operatorHash: String?
    /// Every form and action of this session carries it.
    var csrfToken: String
    var notice: ConsoleNotice?

    static func fresh(operatorHash: String? = nil) -> ConsoleSession {
        ConsoleSession(operatorHash: operatorHash, csrfToken: ConsoleSession.randomToken(), notice: nil)
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// A line shown once at the top of the next page: what an action did, or why it did not.
struct ConsoleNotice: Codable, Sendable {
    var text: String
    var isError: Bool
}

/// The operator signed in: shown by label only.
struct ConsoleOperator: Sendable {
    var label: String
}
