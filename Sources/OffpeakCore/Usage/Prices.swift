import Foundation

/// A model's real-time list price, per million tokens, in the table's currency.
public struct ModelPrice: Sendable, Equatable {
    public var input: Decimal { didSet { rates = Rates(self) } }
    public var output: Decimal { didSet { rates = Rates(self) } }
    /// For prompt tokens read from the provider's cache; `input` when absent.
    public var cachedInput: Decimal? { didSet { rates = Rates(self) } }
    /// The same prices in whole pico-units per token, when each is one (six decimals or fewer per
    /// million tokens, as every provider's are): a cost is then summed in integers.
    private(set) var rates: Rates?

    public init(input: Decimal, output: Decimal = 0, cachedInput: Decimal? = nil) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput
        rates = Rates(self)
    }

    struct Rates: Sendable, Equatable {
        let input: Int64
        let output: Int64
        let cachedInput: Int64

        init?(_ price: ModelPrice) {
            guard let input = PicoRate.millionths(price.input), let output = PicoRate.millionths(price.output),
                let cachedInput = PicoRate.millionths(price.cachedInput ?? price.input)
            else { return nil }
            (self.input, self.output, self.cachedInput) = (input, output, cachedInput)
        }
    }
}

/// Decimal amounts as whole millionths, where they are.
enum PicoRate {
    /// `value` × 10⁶ when that is a whole number from 0 to 10¹⁵ (a price per million tokens is then
    /// that many pico-units per token; a multiplier that many millionths).
    static func millionths(_ value: Decimal) -> Int64? {
        var scaled = value * Decimal(sign: .plus, exponent: 6, significand: 1)
        var whole = Decimal()
        NSDecimalRound(&whole, &scaled, 0, .plain)
        guard whole == scaled, whole >= 0, whole <= Decimal(sign: .plus, exponent: 15, significand: 1) else { return nil }
        return (whole as NSDecimalNumber).int64Value
    }

    /// `picos` × `millionths` / 10⁶, rounded half to even (as `Money` rounds); nil past Int64.
    static func scale(_ picos: Int64, byMillionths millionths: Int64) -> Int64? {
        let product = picos.multipliedFullWidth(by: millionths)
        // The quotient must fit: |product| < 10⁶ × 2⁶³.
        guard product.high < 500_000, product.high >= 0 else { return nil }
        let (quotient, remainder) = Int64(1_000_000).dividingFullWidth(product)
        if remainder * 2 > 1_000_000 || (remainder * 2 == 1_000_000 && quotient % 2 != 0) { return quotient + 1 }
        return quotient
    }

    /// Σ tokens × rate, nil on overflow.
    static func sum(_ terms: [(tokens: Int64, rate: Int64)]) -> Int64? {
        var total: Int64 = 0
        for term in terms {
            let (product, overflow) = term.tokens.multipliedReportingOverflow(by: term.rate)
            guard !overflow else { return nil }
            let (next, over) = total.addingReportingOverflow(product)
            guard !over else { return nil }
            total = next
        }
        return total
    }
}

/// The prices in force: model globs in order, the first match wins.
public struct PriceTable: Sendable, Equatable {
    public var currency: String
    /// Batch and flex price = list price × this.
    public var batchMultiplier: Decimal { didSet { multiplierMillionths = PicoRate.millionths(batchMultiplier) } }
    public var models: [(glob: String, price: ModelPrice)]
    /// The multiplier in whole millionths, when it is one.
    private(set) var multiplierMillionths: Int64?

    public init(currency: String = "USD", batchMultiplier: Decimal = Decimal(string: "0.5")!, models: [(glob: String, price: ModelPrice)] = []) {
        self.currency = currency
        self.batchMultiplier = batchMultiplier
        self.models = models
        multiplierMillionths = PicoRate.millionths(batchMultiplier)
    }

    /// The price of `model`, or nil: an unpriced model is reported as such, never as free.
    public func price(for model: String) -> ModelPrice? {
        models.first { Glob.matches($0.glob, model) }?.price
    }

    /// `overrides`' entries first (they win), then these; its currency and multiplier replace these.
    public func overridden(by overrides: PriceTable) -> PriceTable {
        PriceTable(currency: overrides.currency, batchMultiplier: overrides.batchMultiplier, models: overrides.models + models)
    }

    public static func == (lhs: PriceTable, rhs: PriceTable) -> Bool {
        lhs.currency == rhs.currency && lhs.batchMultiplier == rhs.batchMultiplier
            && lhs.models.map(\.glob) == rhs.models.map(\.glob) && lhs.models.map(\.price) == rhs.models.map(\.price)
    }
}

/// How a request was answered, for what it costs.
public enum Lane: String, Sendable, CaseIterable {
    /// Answered from a batch file: the batch price.
    case batch
    /// Passthrough, and deferred requests answered from real time by a policy's fallback.
    case realtime
    /// `service_tier: "flex"`: the batch price.
    case flex
}

/// An amount of money as integer pico-units (10⁻¹² of the currency), so that sums are exact
/// whatever the split; rounded only when shown.
public struct Money: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var picos: Int64

    public init(picos: Int64) {
        self.picos = picos
    }

    /// `amount` of the currency, to the nearest pico-unit.
    public init(_ amount: Decimal) {
        var scaled = amount * Decimal(sign: .plus, exponent: 12, significand: 1)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, 0, .bankers)
        picos = (rounded as NSDecimalNumber).int64Value
    }

    public static let zero = Money(picos: 0)

    /// The amount in the currency, exact.
    public var amount: Decimal { Decimal(picos) / Decimal(sign: .plus, exponent: 12, significand: 1) }

    public static func + (lhs: Money, rhs: Money) -> Money { Money(picos: lhs.picos + rhs.picos) }
    public static func - (lhs: Money, rhs: Money) -> Money { Money(picos: lhs.picos - rhs.picos) }
    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.picos < rhs.picos }

    /// Shown with `places` decimals (the usage reports show 6), rounded half to even.
    public func formatted(places: Int = 6) -> String {
        var value = amount
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, places, .bankers)
        let text = (rounded as NSDecimalNumber).stringValue
        guard places > 0 else { return text }
        let parts = text.split(separator: ".", maxSplits: 1)
        let decimals = parts.count == 2 ? String(parts[1]) : ""
        return "\(parts[0]).\(decimals)\(String(repeating: "0", count: max(0, places - decimals.count)))"
    }

    public var description: String { formatted() }

    /// The exact amount as a JSON number (to the pico-unit, no trailing zeros).
    public var exactText: String { Self.exactText(amount) }

    /// `amount` as a JSON number, as exact as it is.
    public static func exactText(_ amount: Decimal) -> String { (amount as NSDecimalNumber).stringValue }
}

/// What one ended request cost, and what it would have cost at the list price.
public struct Cost: Sendable, Equatable {
    public var currency: String
    public var lane: Lane
    /// False for a model the price table does not know: `billed` and `atListPrice` are then nil.
    public var priced: Bool
    public var billed: Money?
    public var atListPrice: Money?

    public init(currency: String, lane: Lane, priced: Bool, billed: Money?, atListPrice: Money?) {
        self.currency = currency
        self.lane = lane
        self.priced = priced
        self.billed = billed
        self.atListPrice = atListPrice
    }

    public var saved: Money? {
        guard let billed, let atListPrice else { return nil }
        return atListPrice - billed
    }

    /// The cost formula: `(prompt − cached) × input + cached × cached_input (input when absent)
    /// + completion × output` per million tokens (reasoning tokens are completion tokens), × the
    /// batch multiplier in the batch and flex lanes. Only completed requests are billed: a request
    /// that did not complete costs 0 whatever its usage.
    public init(usage: TokenUsage?, model: String, lane: Lane, completed: Bool, prices: PriceTable) {
        currency = prices.currency
        self.lane = lane
        guard let price = prices.price(for: model) else {
            priced = false
            return
        }
        priced = true
        guard completed, let usage else {
            billed = .zero
            atListPrice = .zero
            return
        }
        if let (list, billed) = Self.integral(usage: usage, rates: price.rates, lane: lane, multiplier: prices.multiplierMillionths) {
            atListPrice = Money(picos: list)
            self.billed = Money(picos: billed)
            return
        }
        let cached = Decimal(min(usage.cachedTokens, usage.promptTokens))
        let uncached = Decimal(usage.promptTokens) - cached
        let perMillion = uncached * price.input + cached * (price.cachedInput ?? price.input) + Decimal(usage.completionTokens) * price.output
        // ÷ 1,000,000 as a shift of the exponent: exact, and Decimal's long division was most of
        // a relayed call's metering.
        let list = Decimal(sign: .plus, exponent: -6, significand: perMillion)
        atListPrice = Money(list)
        billed = lane == .realtime ? Money(list) : Money(list * prices.batchMultiplier)
    }

    /// The same formula in whole pico-units, when the prices and the multiplier are whole
    /// millionths and nothing overflows (nil otherwise, and `Decimal` computes it): the same
    /// figures to the pico-unit, at a small part of the cost.
    static func integral(usage: TokenUsage, rates: ModelPrice.Rates?, lane: Lane, multiplier: Int64?) -> (list: Int64, billed: Int64)? {
        guard let rates, let multiplier else { return nil }
        let cached = Int64(min(usage.cachedTokens, usage.promptTokens))
        let terms = [
            (Int64(usage.promptTokens) - cached, rates.input), (cached, rates.cachedInput), (Int64(usage.completionTokens), rates.output),
        ]
        guard let list = PicoRate.sum(terms) else { return nil }
        if lane == .realtime { return (list, list) }
        guard let billed = PicoRate.scale(list, byMillionths: multiplier) else { return nil }
        return (list, billed)
    }
}
