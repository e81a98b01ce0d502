import OffpeakCore
import Testing

@Suite struct JSONObjectViewTests {
    @Test func readsTopLevelMembersWithoutDecodingTheRest() throws {
        let text = #" {"model":"qwen-plus","stream":true,"n":3,"messages":[{"role":"user","content":"hi \"there\""}],"x":null} "#
        let view = try JSONObjectView(Array(text.utf8))
        #expect(view.string("model") == "qwen-plus")
        #expect(view.bool("stream") == true)
        #expect(view.int("n") == 3)
        #expect(view.isNull("x"))
        #expect(view.member("messages")?.kind == .array)
        #expect(view.string("missing") == nil)
        #expect(String(decoding: view.raw("messages")!, as: UTF8.self) == #"[{"role":"user","content":"hi \"there\""}]"#)
    }

    @Test func decodesEscapesInStrings() throws {
        let view = try JSONObjectView(Array(#"{"a":"line\nbreak \u00e9 \ud83d\ude00 \/"}"#.utf8))
        #expect(view.string("a") == "line\nbreak é 😀 /")
    }

    @Test(arguments: [
        "", "[]", "\"model\"", "{", "{\"a\":}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\":01}", "{\"a\":tru}",
        "{\"a\":\"\\x\"}", "{\"a\":\"tab\there\"}", "{'a':1}", "{\"a\":1 \"b\":2}", "{\"a\":[1,2}", "{\"a\":-}",
        "{\"a\":1.}", "{\"a\":1e}",
    ])
    func rejectsInvalidText(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONObjectView(Array(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONSyntaxError.self) { try JSONObjectView([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC0, 0xAF, 0x22, 0x7D]) }
        #expect(throws: JSONSyntaxError.self) { try JSONObjectView([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x7D]) }
    }

    @Test func acceptsNumbersAndNesting() throws {
        let view = try JSONObjectView(Array(#"{"a":-0.5e+10,"b":{"c":[true,false,null,{"d":[]}]},"e":"ü"}"#.utf8))
        #expect(view.members.map(\.key) == ["a", "b", "e"])
        #expect(view.object("b")?.member("c")?.kind == .array)
    }
}
