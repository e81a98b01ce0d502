import Foundation
import OffpeakTestSupport
import Testing

/// `OFFPEAK_MAX_CONNECTIONS` bounds the client connections open at once: past it a new connection
/// is closed at once, and a connection that closes frees its place. (The test's own client may
/// hold a kept-alive connection of its own, so the script's share is at most the bound.)
@Suite struct ConnectionLimitTests {
    @Test func connectionsPastTheBoundAreClosedAtOnceAndPlacesComeBack() async throws {
        let cluster = try await Cluster(name: "connections", gateway: ["OFFPEAK_MAX_CONNECTIONS": "4"])
        let port = String(URL(string: cluster.gateway.url)?.port ?? 0)
        let seen = try await PythonEnvironment.shared.runScript("many_connections.py", ["127.0.0.1", port, "7"])
        let admitted = try #require(seen["admitted"] as? Int)
        let refused = try #require(seen["refused"] as? Int)
        #expect(admitted >= 2 && admitted <= 4, "\(seen)")
        #expect(refused == 7 - admitted, "\(seen)")
        #expect((seen["after"] as? String)?.contains("200") == true, "the places came back: \(seen)")
        let metrics = try await TestHTTP.get(cluster.gateway.url + "/metrics")
        #expect(metrics.text.contains("offpeak_http_connections_refused_total \(refused)"), "\(metrics.text.prefix(400))")
    }
}
