import Foundation
import OffpeakCore
import Testing

@Suite struct JSONWriterTests {
    static let strings = [
        "", "plain", "quote \" and backslash \\", "\"", "\\", "line\nbreak\r\ttab", "\u{0}\u{1}\u{1F}",
        "ünïcødé ✓ 漢字 🚀", "ends with escape\n", "\nstarts with escape", String(repeating: "long run ", count: 200) + "\"",
    ]

    @Test(arguments: strings) func aStringReadsBackAsWritten(_ value: String) throws {
        let quoted = JSONWriter.quoted(value)
        let decoded = try JSONSerialization.jsonObject(with: Data(quoted), options: .fragmentsAllowed) as? String
        #expect(decoded == value)
        // Control characters are escaped, never written raw.
        #expect(!quoted.contains { $0 < 0x20 })
    }

    @Test func escapesAreTheShortFormsJSONDefines() {
        #expect(String(decoding: JSONWriter.quoted("a\"b\\c\nd\u{1}"), as: UTF8.self) == #""a\"b\\c\nd\u0001""#)
    }
}
