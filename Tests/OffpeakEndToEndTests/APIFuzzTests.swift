import Foundation
import OffpeakTestSupport
import Testing

/// Schemathesis, an independent fuzzer, against a live gateway on the simulator, driven by the
/// gateway's own `/openapi.json`, with a bounded budget: no answer is a 5xx, and every answer
/// conforms to the document (its status codes, content types, headers and schemas). The console's
/// HTML forms are left to the browser test.
///
/// Findings it made, each kept as a rule in the document and in `OpenAPIDocumentTests`: a
/// deferrable endpoint relays the provider's own error for a call passed through (Anthropic's
/// shape on `/v1/messages`), and a streamed answer is a series of events, not one string.
@Suite struct APIFuzzTests {
    static let checks = [
        "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
        "response_headers_conformance",
    ]

    @Test func theGatewayHoldsToItsDocumentUnderFuzzing() async throws {
        let cluster = try await Cluster(name: "fuzz")
        let arguments = [
            "run", cluster.gateway.url + "/openapi.json", "--checks", Self.checks.joined(separator: ","),
            "--exclude-path-regex", "^/console", "--max-examples", "10", "--max-time", "120", "--request-timeout", "20",
            "--seed", "20261130", "--no-color", "--warnings", "off",
        ]
        do {
            let output = try await PythonEnvironment.shared.runTool("schemathesis", arguments)
            #expect(output.contains("passed"), "\(output.suffix(2000))")
        } catch {
            Issue.record("schemathesis found answers that break the document: \(error)")
        }
    }
}
