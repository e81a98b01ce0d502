import Foundation
import OffpeakTestSupport
import Testing

/// A client that sends its whole body before reading still reads the 413 of a body over the limit
/// (the server reads and drops the rest of the body after it answers), but the drain is bounded:
/// past 64 MiB, or 5 s after the answer, the connection is closed.
@Suite struct OversizedBodyTests {
    @Test func theRefusalIsReadableByAClientThatSendsFirst() async throws {
        let cluster = try await Cluster(name: "oversized")
        let port = String(URL(string: cluster.gateway.url)?.port ?? 0)
        let readable = try await PythonEnvironment.shared.runScript("send_first.py", ["127.0.0.1", port, String(10 << 20)])
        #expect(readable["sent"] as? String == "all" && readable["status"] as? Int == 413 && readable["code_in_body"] as? Bool == true)
        #expect(try await TestHTTP.get(cluster.gateway.url + "/healthz").status == 200)
    }

    @Test func theDrainStopsAfter64MiB() async throws {
        let cluster = try await Cluster(name: "oversized-bytes")
        let port = String(URL(string: cluster.gateway.url)?.port ?? 0)
        let sender = try await PythonEnvironment.shared.runScript("send_first.py", ["127.0.0.1", port, String(400 << 20)])
        let sent = sender["bytes_sent"] as? Int ?? 0
        #expect(sender["sent"] as? String != "all", "the connection was closed before 400 MiB were read")
        #expect(sent >= 60 << 20 && sent < 200 << 20, "64 MiB drained, and the socket buffers: \(sent >> 20) MiB")
        #expect(try await TestHTTP.get(cluster.gateway.url + "/healthz").status == 200)
    }

    @Test func theDrainStopsFiveSecondsAfterTheAnswer() async throws {
        let cluster = try await Cluster(name: "oversized-time")
        let port = String(URL(string: cluster.gateway.url)?.port ?? 0)
        // 1 MiB every half second: 64 MiB would take half a minute.
        let sender = try await PythonEnvironment.shared.runScript("send_first.py", ["127.0.0.1", port, String(60 << 20), "0.5"])
        let seconds = sender["seconds_sending"] as? Double ?? 0
        #expect(sender["sent"] as? String != "all", "the slow sender was cut off")
        #expect(seconds >= 4 && seconds < 20, "closed about 5 s after the answer, not at the end of the body: \(seconds) s")
    }
}
