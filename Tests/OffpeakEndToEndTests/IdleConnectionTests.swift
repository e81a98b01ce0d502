import Foundation
import OffpeakTestSupport
import Testing

/// A client cannot hold a connection without sending a whole request part for longer than
/// `OFFPEAK_IDLE_TIMEOUT` (here 1 s): neither by sending nothing, nor by trickling in a request's
/// head, nor by keeping an answered connection open. A request that has been read keeps its
/// connection for as long as its answer takes (here a stream of some 4 s). Every call is made on
/// a connection of its own: a pooled client's kept-alive connection would itself be closed after
/// a second idle, and could be reused just as the gateway closes it.
@Suite struct IdleConnectionTests {
    @Test func idleAndTrickledConnectionsAreClosedAndALongAnswerIsNot() async throws {
        let cluster = try await Cluster(
            name: "idle", simulatorArguments: ["--stream-chunk-delay", "0.3"], gateway: ["OFFPEAK_IDLE_TIMEOUT": "1"])
        let port = String(URL(string: cluster.gateway.url)?.port ?? 0)
        let seen = try await PythonEnvironment.shared.runScript("idle_clients.py", ["127.0.0.1", port])
        for name in ["silent", "trickled", "answered"] {
            let seconds = try #require(seen[name] as? Double, "\(name): still open after 30 s (\(seen))")
            #expect(seconds >= 0.9 && seconds < 10, "\(name): closed after \(seconds) s")
        }
        #expect((seen["answered_status"] as? String)?.contains("200") == true, "\(seen)")
        #expect((seen["streamed_status"] as? String)?.contains("200") == true, "\(seen)")
        #expect(seen["streamed_done"] as? Bool == true, "the stream was read to its end: \(seen)")
        #expect((seen["streamed_seconds"] as? Double ?? 0) > 3, "the stream outlasted the idle timeout: \(seen)")
    }
}
