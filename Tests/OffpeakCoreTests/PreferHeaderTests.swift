@testable import OffpeakGateway
import Testing

@Suite struct PreferHeaderTests {
    @Test(arguments: [
        (["respond-async"], true, nil),
        (["Respond-Async, wait=30"], true, 30.0),
        (["  respond-async ;foo=bar ,  wait = \"5\" "], true, 5.0),
        (["return=minimal", "respond-async"], true, nil),
        (["wait=10"], false, 10.0),
        (["wait=-1, wait=abc, respond-asyncx"], false, nil),
        ([String](), false, nil),
        ([""], false, nil),
    ] as [([String], Bool, Double?)])
    func readsPreferences(values: [String], respondAsync: Bool, wait: Double?) {
        let header = PreferHeader(values)
        #expect(header.respondAsync == respondAsync)
        #expect(header.wait == wait)
    }
}
