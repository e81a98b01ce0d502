@testable import OffpeakGateway
import Testing

/// The flex lane's body: `service_tier` set to flex, whatever tier the client named, the rest kept.
@Suite struct FlexBodyTests {
    @Test func theTierIsFlexAndTheRestIsKept() {
        func flex(_ text: String) -> String { String(decoding: FlexLane.flex(Array(text.utf8)), as: UTF8.self) }
        #expect(flex(#"{"model":"m","messages":[]}"#) == #"{"service_tier":"flex","model":"m","messages":[]}"#)
        #expect(flex(#"{"service_tier":"default","model":"m"}"#).contains(#""service_tier":"flex""#))
        #expect(!flex(#"{"service_tier":"default","model":"m"}"#).contains("default"))
        #expect(flex("{ }") == #"{"service_tier":"flex" }"#)
        #expect(flex("not json") == "not json", "a body that is not JSON goes as it came")
    }
}
