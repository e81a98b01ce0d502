import Foundation
import OffpeakTestSupport
import Testing

/// A client that sends its whole body before reading still reads the 413 of a body over the limit
/// (the server reads and discards the body before it answers).
@Suite struct OversizedBodyTests {
    @Test func theRefusalIsReadableByAClientThatSendsFirst() async throws {
        let cluster = try await Cluster(name: "oversized")
        let port = String(URL(string: cluster.gateway.url)?.port ?? 0)
        let readable = try await PythonEnvironment.shared.runScript("send_first.py", ["127.0.0.1", port, String(10 << 20)])
        #expect(readable["sent"] as? String == "all" && readable["status"] as? Int == 413 && readable["code_in_body"] as? Bool == true)
        #expect(try await TestHTTP.get(cluster.gateway.url + "/healthz").status == 200)
    }
}
