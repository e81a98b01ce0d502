import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// The console's pages, rendered from the Mustache templates compiled into the binary
/// (`Console/Templates`). Each page template extends `layout`.
enum ConsoleTemplates {
    static let sources: [String: [UInt8]] = [
        "layout": PackageResources.layout_mustache,
        "progress": PackageResources.progress_mustache,
        "batch_table": PackageResources.batch_table_mustache,
        "sign_in": PackageResources.sign_in_mustache,
        "overview": PackageResources.overview_mustache,
        "batches": PackageResources.batches_mustache,
        "batch": PackageResources.batch_mustache,
        "cancel": PackageResources.cancel_mustache,
        "requests": PackageResources.requests_mustache,
        "deliveries": PackageResources.deliveries_mustache,
        "message": PackageResources.message_mustache,
    ]

    /// Parsed once. The templates are part of the program: one that does not parse is a bug that
    /// the console's tests catch, not a condition to recover from.
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, bytes) in sources {
            do {
                try library.register(String(decoding: bytes, as: UTF8.self), named: name)
            } catch {
                fatalError("console template '\(name)' does not parse: \(error)")
            }
        }
        return library
    }()

    /// What every console page is sent with: never cached, never framed, scripts and styles only
    /// from the gateway.
    static let pageHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        .contentSecurityPolicy:
            "default-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
    ]

    static func page(_ template: String, _ view: Any, status: HTTPResponse.Status = .ok) -> Response {
        guard let html = library.render(view, withTemplate: template) else {
            fatalError("no console template named '\(template)'")
        }
        return Response(status: status, headers: pageHeaders, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

/// A page that only says something: an error, or that a thing was not found.
struct MessagePage {
    let frame: ConsoleFrame
    let message: String

    static func response(
        _ status: HTTPResponse.Status, title: String, message: String, session: ConsoleSession? = nil, signedIn: ConsoleOperator? = nil
    ) -> Response {
        ConsoleTemplates.page(
            "message", MessagePage(frame: ConsoleFrame(title: title, section: nil, session: session, signedIn: signedIn), message: message),
            status: status)
    }
}
