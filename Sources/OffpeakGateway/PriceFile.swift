import Foundation
import OffpeakCore
import Yams

/// Reads the `prices` section of the config file (the same file as the policies):
/// ```yaml
/// prices:
///   currency: USD
///   batch_multiplier: 0.5
///   models:                     # globs, in order; the first that matches wins
///     qwen-plus: {input: 0.40, output: 1.20, cached_input: 0.16}
///     "text-embedding-*": {input: 0.07}
/// ```
/// Prices are per million tokens at the real-time list price, read as decimals (never through a
/// binary floating point). An invalid section is refused as a whole, naming the model and field.
public enum PriceFile {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    static let sectionKeys: Set<String> = ["currency", "batch_multiplier", "models"]
    static let priceKeys: Set<String> = ["input", "output", "cached_input"]

    /// The operator's prices in `text`, or nil when it has no `prices` section.
    public static func parse(_ text: String, source: String = "the config file") throws -> PriceTable? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw Invalid(description: "\(source) is not valid YAML or JSON: \(error)")
        }
        guard let section = root?.mapping?["prices"] else { return nil }
        func fail(_ message: String) -> Invalid { Invalid(description: "\(source): prices: \(message)") }
        guard let fields = section.mapping else { throw fail("must be a mapping with `models`") }
        for key in fields.keys.compactMap(\.string) where !sectionKeys.contains(key) {
            throw fail("unknown field `\(key)` (currency, batch_multiplier and models are read)")
        }
        var table = PriceTable(models: [])
        if let currency = fields["currency"] {
            guard let code = currency.string, code.count == 3, code.allSatisfy(\.isLetter) else {
                throw fail("`currency` must be a three-letter code such as USD")
            }
            table.currency = code.uppercased()
        }
        if let multiplier = fields["batch_multiplier"] {
            guard let value = decimal(multiplier), value > 0, value <= 1 else {
                throw fail("`batch_multiplier` must be a number above 0 and at most 1")
            }
            table.batchMultiplier = value
        }
        guard let models = fields["models"]?.mapping else { throw fail("`models` must map model globs to prices") }
        for (key, value) in models {
            guard let glob = key.string, !glob.isEmpty else { throw fail("a model name must be a non-empty string") }
            guard let price = value.mapping else { throw fail("\(glob): must be a mapping such as {input: 0.40, output: 1.20}") }
            var numbers: [String: Decimal] = [:]
            for (field, amount) in price {
                let name = field.string ?? ""
                guard priceKeys.contains(name) else { throw fail("\(glob): unknown field `\(name)` (input, output, cached_input)") }
                guard let number = decimal(amount), number >= 0 else {
                    throw fail("\(glob): `\(name)` must be a number of \(table.currency) per million tokens, 0 or more")
                }
                numbers[name] = number
            }
            guard let input = numbers["input"] else { throw fail("\(glob): `input` is required") }
            table.models.append((glob, ModelPrice(input: input, output: numbers["output"] ?? 0, cachedInput: numbers["cached_input"])))
        }
        return table
    }

    public static func load(path: String) throws -> PriceTable? {
        try parse(try ConfigFileText.read(path), source: path)
    }

    /// A plain scalar read as a decimal number, exactly as written.
    static func decimal(_ node: Node) -> Decimal? {
        guard let scalar = node.scalar, scalar.style == .plain || scalar.style == .any else { return nil }
        let text = scalar.string
        guard text.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" || $0 == "e" || $0 == "E" }) else { return nil }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }
}

/// The config file's text (policies and prices are read from the one file).
enum ConfigFileText {
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    static func read(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Unreadable(description: "cannot read the config file \(path): \(error.localizedDescription)")
        }
    }
}
