import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import OffpeakCore
import OffpeakGateway
import OffpeakTestSupport
import OpenAPIKit
import Testing

/// The API document (`Sources/OffpeakGateway/OpenAPI/openapi.json`) and the routes are held to
/// each other: the document is valid OpenAPI 3.1, every route the gateway registers is in it
/// (the passthrough's catch-all aside), every path in it is served, and `/openapi.json` serves it.
@Suite struct OpenAPIDocumentTests {
    static func document() throws -> OpenAPI.Document {
        try JSONDecoder().decode(OpenAPI.Document.self, from: Data(APIDocument.bytes))
    }

    @Test func theDocumentIsValidOpenAPI31() throws {
        let document = try Self.document()
        #expect(document.openAPIVersion.rawValue.hasPrefix("3.1"))
        try document.validate()
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteIsServed() throws {
        let router = Gateway.buildRouter(
            store: MemoryStore(), configuration: try RouteTesting.configuration(), httpClient: TestHTTP.client,
            callbacks: CallbackURLPolicy(allowPrivate: false, resolver: FixedResolver()), logger: Logger(label: "routes"))
        let registered = Set(
            router.routes.filter { !$0.path.description.contains("**") }.map { route in
                "\(route.method.rawValue) " + Self.openAPIPath(route.path.description)
            })
        let document = try Self.document()
        var documented = Set<String>()
        for (path, item) in document.paths {
            let item = try #require(item.pathItemValue, "\(path.rawValue) is a path item, not a reference")
            for endpoint in item.endpoints { documented.insert("\(endpoint.method.rawValue.uppercased()) \(path.rawValue)") }
        }
        #expect(registered.count > 30)
        #expect(registered.subtracting(documented).sorted() == [], "routes missing from the document")
        #expect(documented.subtracting(registered).sorted() == [], "documented routes nothing serves")
    }

    @Test func everyErrorAnswerUsesTheErrorSchema() throws {
        let document = try Self.document()
        for (path, item) in document.paths {
            guard let item = item.pathItemValue, !path.rawValue.hasPrefix("/console") else { continue }
            for endpoint in item.endpoints {
                for (status, response) in endpoint.operation.responses {
                    guard case .status(let code) = status.value, code >= 400, code != 503 || path.rawValue != "/readyz" else { continue }
                    let schema = response.responseValue?.content[.json]?.b?.schema
                    // A deferrable endpoint also relays the provider's own error for a call passed through.
                    #expect(["Error", "ErrorOrProviderBody"].contains(schema?.reference?.name), "\(endpoint.method.rawValue) \(path.rawValue) \(code)")
                }
            }
        }
    }

    @Test func theDocumentIsServedAsItIs() async throws {
        try await RouteTesting.application(store: MemoryStore(), configuration: try RouteTesting.configuration()).test(.router) { client in
            let answer = try await client.execute(uri: "/openapi.json", method: .get)
            #expect(answer.status == .ok && answer.headers[.contentType] == "application/json")
            #expect(Array(buffer: answer.body) == APIDocument.bytes)
        }
    }

    /// `/v1/deferred/:id` as OpenAPI writes it, `/v1/deferred/{id}`; the console's root without its slash.
    static func openAPIPath(_ path: String) -> String {
        let parts = path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
        return "/" + parts.joined(separator: "/")
    }
}
