import Foundation

/// A model's real-time list price, per million tokens, in the table's currency.
public struct ModelPrice: Sendable, Equatable {
    public var input: Decimal
    public var output: Decimal
    /// For prompt tokens read from the provider's cache; `input` when absent.
    public var cachedInput: Decimal?

    public init(input: Decimal, output: Decimal = 0, cachedInput: Decimal? = nil) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput
    }
}

/// The prices in force: model globs in order, the first match wins.
public struct PriceTable: Sendable, Equatable {
    public var currency: String
    /// Batch and flex price = list price × this.
    public var batchMultiplier: Decimal
    public var models: [(glob: String, price: ModelPrice)]

    public init(currency: String = "USD", batchMultiplier: Decimal = Decimal(string: "0.5")!, models: [(glob: String, price: ModelPrice)] = []) {
        self.currency = currency
        self.batchMultiplier = batchMultiplier
        self.models = models
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
        let cached = Decimal(min(usage.cachedTokens, usage.promptTokens))
        let uncached = Decimal(usage.promptTokens) - cached
        let perMillion = uncached * price.input + cached * (price.cachedInput ?? price.input) + Decimal(usage.completionTokens) * price.output
        // ÷ 1,000,000 as a shift of the exponent: exact, and Decimal's long division was most of
        // a relayed call's metering.
        let list = Decimal(sign: .plus, exponent: -6, significand: perMillion)
        atListPrice = Money(list)
        billed = lane == .realtime ? Money(list) : Money(list * prices.batchMultiplier)
    }
}
