import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Logging
import OffpeakCore

/// The operator's web console at `/console`: server-rendered pages over the
/// same operations as the operator API, a session per browser kept in the store (so every
/// gateway on a shared store reads it), and every form protected by the session's CSRF token.
/// The pages are in files of their own (`ConsoleRoutes+Overview.swift`, …).
struct ConsoleRoutes: Sendable {
    let operations: AdminRoutes
    let store: any OperatorViews & UsageLedger & KeyValueStore
    let access: OperatorAccess
    let currency: String
    let secureCookie: Bool

    static let cookieName = "offpeak_console"
    static let keyPrefix = "console.session."
    static let signedInLifetime = Duration.seconds(8 * 3600)

    var clock: SystemClock { operations.clock }

    func register(on router: Router<GatewayContext>) {
        let console = router.group("/console", context: ConsoleContext.self)
        ConsoleAssets.register(on: console)
        let sessions = console.group()
            .add(
                middleware: SessionMiddleware(
                    storage: StorePersistDriver(store: store, clock: clock),
                    configuration: .init(
                        sessionCookieParameters: .init(name: Self.cookieName, path: "/console", secure: secureCookie, sameSite: .strict),
                        keyPrefix: Self.keyPrefix, defaultSessionExpiration: Self.signedInLifetime)))
            .add(middleware: ConsolePageErrors(access: access))
            .add(middleware: ConsoleSessionGuard(access: access))
            .add(middleware: SessionAuthenticator(context: ConsoleContext.self) { session, _ in access.operator(of: session) })
        sessions.get("sign-in") { request, context in
            let parameters = request.uri.queryParameters
            return signInPage(next: parameters.get("next"), signedOut: parameters.get("signed_out") != nil, context)
        }
        sessions.post("sign-in") { request, context in try await signIn(request, context) }
        sessions.post("sign-out") { _, context in
            context.sessions.clearSession()
            return Response.redirect(to: "/console/sign-in?signed_out=1", type: .normal)
        }

        let pages = sessions.group().add(middleware: ConsoleRequireOperator())
        pages.get("") { request, context in try await overview(request, context) }
        pages.post("queues/:action") { request, context in try await queueAction(request, context) }
        pages.get("batches") { request, context in try await batches(request, context) }
        pages.get("batches/:id") { _, context in try await batch(context) }
        pages.get("batches/:id/cancel") { _, context in try await cancelPage(context) }
        pages.post("batches/:id/cancel") { request, context in try await cancel(request, context) }
        pages.get("requests") { request, context in try await lookUp(request, context) }
        pages.post("requests/:id/redeliver") { request, context in try await redeliver(request, context) }
        pages.get("deliveries") { request, context in try await deliveries(request, context) }
    }

    // MARK: Signing in and out

    struct SignInPage {
        let frame: ConsoleFrame
        let next: String
        let error: String?
        let signedOut: Bool
    }

    struct SignInForm: Decodable {
        let key: String?
        let next: String?
    }

    func signInPage(
        next: String?, signedOut: Bool = false, _ context: ConsoleContext, error: String? = nil, status: HTTPResponse.Status = .ok
    ) -> Response {
        let next = Self.safeNext(next)
        if context.identity != nil, error == nil { return .redirect(to: next, type: .normal) }
        let page = SignInPage(
            frame: ConsoleFrame(title: "Sign in", section: nil, session: context.sessions.session, signedIn: nil), next: next, error: error,
            signedOut: signedOut)
        return ConsoleTemplates.page("sign_in", page, status: status)
    }

    /// An operator key starts a new session (a new id, so that one planted before sign-in is
    /// worth nothing); the session before it is removed.
    func signIn(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let form = try await Self.form(SignInForm.self, request)
        let next = Self.safeNext(form.next)
        if access.keyless { return .redirect(to: next, type: .normal) }
        let hash: String
        switch access.verdict(ofKey: (form.key ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) {
        case .operator(let operatorHash): hash = operatorHash
        case .clientKey:
            return signInPage(next: next, context, error: "That is a client key. The console takes an operator key (OFFPEAK_ADMIN_KEYS).", status: .forbidden)
        case .unknown:
            return signInPage(next: next, context, error: "That is not an operator key.", status: .unauthorized)
        }
        if let old = request.cookies[Self.cookieName]?.value {
            try? await store.removeValue(forKey: Self.keyPrefix + old)
        }
        context.sessions.createSession(.fresh(operatorHash: hash), expiresIn: Self.signedInLifetime)
        context.logger.info("console sign-in", metadata: ["operator": "\(UsageReport.keyLabel(owner: hash))"])
        return .redirect(to: next, type: .normal)
    }

    // MARK: Shared

    /// A page's frame for this request.
    func frame(_ title: String, _ section: String?, _ context: ConsoleContext, refresh: Bool = false) -> ConsoleFrame {
        let session = context.sessions.session
        if session?.notice != nil {
            // Shown once: this page shows it, the next will not.
            context.sessions.withLockedSession { $0?.notice = nil }
        }
        return ConsoleFrame(title: title, section: section, session: session, signedIn: context.identity, refresh: refresh)
    }

    /// Leaves a notice for the next page and sends the browser there.
    func done(_ context: ConsoleContext, _ text: String, isError: Bool = false, then location: String) -> Response {
        context.sessions.withLockedSession { $0?.notice = ConsoleNotice(text: text, isError: isError) }
        return .redirect(to: location, type: .normal)
    }

    /// Runs an operation; its refusal becomes the notice instead of an error page.
    func attempt(_ context: ConsoleContext, then location: String, _ operation: () async throws -> String) async throws -> Response {
        do {
            return done(context, try await operation(), then: location)
        } catch let error as OpenAIError {
            return done(context, error.message, isError: true, then: location)
        }
    }

    static func form<Form: Decodable>(_ type: Form.Type, _ request: Request) async throws -> Form {
        var request = request
        let body = try await request.collectBody(upTo: 16_384)
        do {
            return try URLEncodedFormDecoder().decode(Form.self, from: String(buffer: body))
        } catch {
            throw OpenAIError(.badRequest, "The form could not be read.", code: "invalid_body")
        }
    }

    /// Where to go after signing in or acting: a console path only (never another site).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/console"), !next.hasPrefix("//"), !next.contains("\\") else { return "/console" }
        return next
    }

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) ?? ""
    }
}
