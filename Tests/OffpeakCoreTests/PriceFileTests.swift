import Foundation
import OffpeakCore
import OffpeakGateway
import Testing

/// The config file's `prices` section: read as decimals, globs in order, refused whole when wrong.
@Suite struct PriceFileTests {
    @Test func pricesAreReadInOrderAsDecimals() throws {
        let table = try #require(
            try PriceFile.parse(
                """
                policies: []
                prices:
                  currency: eur
                  batch_multiplier: 0.5
                  models:
                    qwen-plus: {input: 0.40, output: 1.20, cached_input: 0.16}
                    "qwen-*": {input: 0.05, output: 0.20}
                    "text-embedding-*": {input: 0.07}
                """))
        #expect(table.currency == "EUR" && table.batchMultiplier == Decimal(string: "0.5")!)
        #expect(table.models.map(\.glob) == ["qwen-plus", "qwen-*", "text-embedding-*"], "the order of the file")
        #expect(
            table.price(for: "qwen-plus")
                == ModelPrice(input: Decimal(string: "0.40")!, output: Decimal(string: "1.20")!, cachedInput: Decimal(string: "0.16")!))
        #expect(table.price(for: "text-embedding-v4") == ModelPrice(input: Decimal(string: "0.07")!))
        #expect(table.price(for: "gpt-4o") == nil)
        #expect(try PriceFile.parse("policies: []") == nil, "no section: no overrides")
        #expect(try PolicyFile.parse("prices: {models: {m: {input: 1}}}").isEmpty, "a file may hold prices alone")
    }

    @Test(arguments: [
        ("models: {qwen-plus: {input: -1}}", "qwen-plus: `input` must be a number"),
        ("models: {qwen-plus: {input: cheap}}", "qwen-plus: `input` must be a number"),
        (#"models: {qwen-plus: {input: "0.4"}}"#, "qwen-plus: `input` must be a number"),
        ("models: {qwen-plus: {input: 1, outptu: 2}}", "qwen-plus: unknown field `outptu`"),
        ("models: {qwen-plus: {output: 2}}", "qwen-plus: `input` is required"),
        ("models: {qwen-plus: 0.4}", "qwen-plus: must be a mapping"),
        ("batch_multiplier: 2\n  models: {m: {input: 1}}", "`batch_multiplier` must be a number above 0"),
        ("currency: dollars\n  models: {m: {input: 1}}", "`currency` must be a three-letter code"),
        ("modles: {m: {input: 1}}", "unknown field `modles`"),
    ])
    func aMalformedPriceIsRefusedNamingTheModelAndField(section: String, message: String) {
        do {
            _ = try PriceFile.parse("prices:\n  \(section)\n", source: "offpeak.yaml")
            Issue.record("accepted: \(section)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
            #expect("\(error)".hasPrefix("offpeak.yaml: prices:"))
        }
    }
}
