import Hummingbird
import HTTPTypes
import HummingbirdTesting
import MetricsTestKit
import Testing

@testable import OffpeakGateway

/// Every call is timed in one histogram, a series per route template, method and status.
@Suite struct RequestMetricsTests {
    @Test func everyCallIsTimedByRouteMethodAndStatus() async throws {
        let metrics = TestMetrics()
        let router = Router()
        router.add(middleware: RequestMetrics(factory: metrics))
        router.get("/items/{id}") { _, _ in "ok" }
        router.get("/missing") { _, _ -> String in throw HTTPError(.notFound) }
        router.get("/gone") { _, _ -> String in throw CancellationError() }
        try await Application(router: router).test(.router) { client in
            for path in ["/items/1", "/items/2", "/missing", "/gone", "/no/such/path"] {
                try await client.execute(uri: path, method: .get) { _ in }
            }
            for method in ["BREW", "WHEN"] {
                try await client.execute(uri: "/no/such/path", method: try #require(HTTPRequest.Method(method))) { _ in }
            }
        }
        func timed(_ route: String, _ status: Int, method: String = "GET") throws -> [Int64] {
            try metrics.expectTimer(Gateway.requestDurationLabel, [("route", route), ("method", method), ("status", String(status))])
                .values
        }
        #expect(try timed("/items/{id}", 200).count == 2, "one series per route template, not per path")
        #expect(try timed("/items/{id}", 200).allSatisfy { $0 > 0 })
        #expect(try timed("/missing", 404).count == 1, "an error is timed under its status")
        #expect(try timed("/gone", 499).count == 1, "a cancelled call is its client's, not the server's failure")
        #expect(try timed("NotFound", 404).count == 1, "every path no route matches is one series")
        #expect(try timed("NotFound", 404, method: "other").count == 2, "and every method outside HTTP's usual ones")
    }
}
