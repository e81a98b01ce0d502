import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OffpeakCore
import OffpeakGateway
import OffpeakTestSupport

/// The gateway's routes in process (`app.test(.router)`) over a memory store, without workers.
/// The upstream is a loopback port nothing listens on: a call that reaches it answers 502.
enum RouteTesting {
    static func configuration(
        policies: String? = nil, maxRequestBytes: Int = 6_291_456, clientKeys: [String] = [], adminKeys: [String] = [],
        host: String = "127.0.0.1"
    ) throws -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        configuration.clientKeys = clientKeys
        configuration.adminKeys = adminKeys
        configuration.host = host
        configuration.upstreamURL = "http://127.0.0.1:1/v1"
        configuration.upstreamAPIKey = "sk-test"
        configuration.maxRequestBytes = maxRequestBytes
        if let policies { configuration.policies = try PolicyFile.parse(policies) }
        return configuration
    }

    static func application(store: MemoryStore, configuration: GatewayConfiguration) -> some ApplicationProtocol {
        Application(
            router: Gateway.buildRouter(
                store: store, configuration: configuration, httpClient: TestHTTP.client,
                callbacks: CallbackURLPolicy(allowPrivate: false, resolver: FixedResolver()), logger: Logger(label: "routes")))
    }

    static func json(_ response: TestResponse) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(Array(buffer: response.body))) as? [String: Any]
    }

    static func errorCode(_ response: TestResponse) -> String? {
        (json(response)?["error"] as? [String: Any])?["code"] as? String
    }

    static func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
}
