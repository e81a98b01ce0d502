import Crypto
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import OffpeakCore

extension OperatorAccess {
    /// The operator a console session stands for: signed in with a key still configured (a key
    /// taken out of `OFFPEAK_ADMIN_KEYS` signs its sessions out), or anyone on a keyless loopback
    /// gateway.
    func `operator`(of session: ConsoleSession) -> ConsoleOperator? {
        if keyless { return loopback ? ConsoleOperator(label: "loopback operator") : nil }
        guard let hash = session.operatorHash, adminHashes.contains(hash) else { return nil }
        return ConsoleOperator(label: UsageReport.keyLabel(owner: hash))
    }
}

/// The session's part of every console request: a keyless gateway off loopback is refused; a
/// browser without a session gets one (it carries the CSRF token, signed in or not); a form or
/// action (any method but GET and HEAD) must carry the session's token, as the field
/// `csrf_token` or the header `X-CSRF-Token`, or is refused with 403 before it does anything.
struct ConsoleSessionGuard: RouterMiddleware {
    typealias Context = ConsoleContext
    let access: OperatorAccess

    static let tokenHeader = HTTPField.Name("X-CSRF-Token")!
    static let anonymousLifetime = Duration.seconds(3600)

    struct TokenForm: Decodable {
        let csrf_token: String?
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !access.closed else {
            return MessagePage.response(
                .forbidden, title: "Console closed",
                message: "No operator keys are configured (OFFPEAK_ADMIN_KEYS): the console is served only on a loopback address.")
        }
        var request = request
        let safe = request.method == .get || request.method == .head
        guard let session = context.sessions.session else {
            guard safe else { return Self.refused("Your console session has expired. Reload the page, then try again.") }
            context.sessions.createSession(.fresh(operatorHash: access.keyless ? "" : nil), expiresIn: Self.anonymousLifetime)
            return try await next(request, context)
        }
        if !safe {
            var presented = request.headers[Self.tokenHeader]
            if presented == nil {
                let body = try await request.collectBody(upTo: context.maxUploadSize)
                presented = (try? URLEncodedFormDecoder().decode(TokenForm.self, from: String(buffer: body)))?.csrf_token
            }
            guard let presented, Self.same(presented, session.csrfToken) else {
                return Self.refused("This form was sent without its security token (CSRF). Reload the page, then try again.")
            }
        }
        return try await next(request, context)
    }

    static func refused(_ message: String) -> Response {
        MessagePage.response(.forbidden, title: "Not sent", message: message)
    }

    /// Compares in time independent of where the strings differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count, !x.isEmpty else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// The pages past sign-in: a browser not signed in is sent to the sign-in page (a page's
/// background refresh is answered 401, so that its script stops and says so).
struct ConsoleRequireOperator: RouterMiddleware {
    typealias Context = ConsoleContext
    static let refreshHeader = HTTPField.Name("X-Console-Refresh")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.identity == nil else { return try await next(request, context) }
        if request.headers[Self.refreshHeader] != nil { return Response(status: .unauthorized) }
        guard request.method == .get || request.method == .head else {
            return ConsoleSessionGuard.refused("Sign in to the console first.")
        }
        return .redirect(to: "/console/sign-in?next=" + ConsoleRoutes.encoded(request.uri.description), type: .normal)
    }
}

/// Errors of console pages as pages: an OpenAI-shaped error's message with its status.
struct ConsolePageErrors: RouterMiddleware {
    typealias Context = ConsoleContext
    let access: OperatorAccess

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as OpenAIError {
            return page(error.status, error.message, context)
        } catch let error as HTTPError {
            return page(error.status, error.body ?? error.status.reasonPhrase, context)
        }
    }

    func page(_ status: HTTPResponse.Status, _ message: String, _ context: Context) -> Response {
        let session = context.sessions.session
        return MessagePage.response(
            status, title: status.reasonPhrase, message: message, session: session, signedIn: session.flatMap(access.operator(of:)))
    }
}
