import Configuration
import OffpeakGateway
import Testing

/// Settings read as `serve` reads them (`OFFPEAK_IDLE_TIMEOUT` is the key `idle.timeout`,
/// `OFFPEAK_MAX_CONNECTIONS` the key `max.connections`).
@Suite struct GatewayConfigurationTests {
    static func read(_ settings: [AbsoluteConfigKey: String]) throws -> GatewayConfiguration {
        let values = settings.mapValues { ConfigValue(.string($0), isSecret: false) }
        return try GatewayConfiguration(reader: ConfigReader(providers: [InMemoryProvider(name: "test", values: values)]))
    }

    @Test func theIdleTimeoutIsSecondsAndZeroNeverCloses() throws {
        #expect(try Self.read([:]).idleTimeout == 75)
        #expect(try Self.read(["idle.timeout": "2.5"]).idleTimeout == 2.5)
        #expect(try Self.read(["idle.timeout": "0"]).idleTimeout == 0)
        for bad in ["-1", "soon", "inf"] {
            #expect(throws: GatewayConfiguration.Invalid.self, "\(bad)") { try Self.read(["idle.timeout": bad]) }
        }
    }

    @Test func theConnectionBoundIsAWholeNumberOrTheDescriptorLimitsShare() throws {
        #expect(try Self.read([:]).maxConnections == nil)
        #expect(try Self.read(["max.connections": ""]).maxConnections == nil, "empty, as in the example file")
        #expect(try Self.read(["max.connections": "500"]).maxConnections == 500)
        for bad in ["0", "-3", "many"] {
            #expect(throws: GatewayConfiguration.Invalid.self, "\(bad)") { try Self.read(["max.connections": bad]) }
        }
    }
}
