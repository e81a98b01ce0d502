import Foundation
import OffpeakCore
import Testing

/// The cost formula, to the pico-unit, and money that sums without drift.
@Suite struct CostTests {
    static let prices = PriceTable(
        currency: "USD", batchMultiplier: Decimal(string: "0.5")!,
        models: [
            ("qwen-plus", ModelPrice(input: Decimal(string: "0.40")!, output: Decimal(string: "1.20")!, cachedInput: Decimal(string: "0.16")!)),
            ("qwen-*", ModelPrice(input: Decimal(string: "0.05")!, output: Decimal(string: "0.20")!)),
            ("text-embedding-*", ModelPrice(input: Decimal(string: "0.07")!)),
        ])

    @Test func cachedAndReasoningTokensArePricedAsTheContractSays() {
        // (120 − 100) × 0.40 + 100 × 0.16 + 80 × 1.20 = 8 + 16 + 96 = 120 per million tokens.
        let usage = TokenUsage(promptTokens: 120, completionTokens: 80, cachedTokens: 100, reasoningTokens: 50)
        let batch = Cost(usage: usage, model: "qwen-plus", lane: .batch, completed: true, prices: Self.prices)
        #expect(batch.priced && batch.currency == "USD")
        #expect(batch.atListPrice == Money(picos: 120_000_000))
        #expect(batch.billed == Money(picos: 60_000_000), "batch price: half the list price")
        #expect(batch.saved == Money(picos: 60_000_000))
        let realtime = Cost(usage: usage, model: "qwen-plus", lane: .realtime, completed: true, prices: Self.prices)
        #expect(realtime.billed == realtime.atListPrice && realtime.saved == .zero)
        let flex = Cost(usage: usage, model: "qwen-plus", lane: .flex, completed: true, prices: Self.prices)
        #expect(flex.billed == batch.billed, "flex is priced at the batch rate")
    }

    @Test func cachedTokensWithoutACachedPriceAreInputTokensAndTheFirstGlobWins() {
        let usage = TokenUsage(promptTokens: 1_000, completionTokens: 10, cachedTokens: 400)
        // qwen-max falls to qwen-*: 1,000 × 0.05 + 10 × 0.20 = 52 per million.
        let cost = Cost(usage: usage, model: "qwen-max", lane: .realtime, completed: true, prices: Self.prices)
        #expect(cost.billed == Money(picos: 52_000_000))
        let embedding = Cost(
            usage: TokenUsage(promptTokens: 9, completionTokens: 0), model: "text-embedding-v4", lane: .batch, completed: true,
            prices: Self.prices)
        #expect(embedding.atListPrice == Money(picos: 630_000) && embedding.billed == Money(picos: 315_000))
    }

    /// Costs are summed in integers when the prices allow it; the figures are those of exact
    /// decimal arithmetic, rounded half to even to the pico-unit, whichever way they are computed.
    @Test func integerCostsMatchExactDecimalArithmetic() {
        let prices = ["0.40", "1.20", "0.16", "0.000001", "123.456789", "0.1234567", "3", "0"].map { Decimal(string: $0)! }
        let multipliers = ["0.5", "0.333333", "0.1234567", "1"].map { Decimal(string: $0)! }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<400 {
            let (input, output, cached) = (prices.randomElement()!, prices.randomElement()!, prices.randomElement()!)
            let multiplier = multipliers.randomElement()!
            let usage = TokenUsage(
                promptTokens: Int.random(in: 0...2_000_000, using: &generator), completionTokens: Int.random(in: 0...300_000, using: &generator),
                cachedTokens: Int.random(in: 0...500_000, using: &generator))
            let table = PriceTable(batchMultiplier: multiplier, models: [("m", ModelPrice(input: input, output: output, cachedInput: cached))])
            let cachedTokens = Decimal(min(usage.cachedTokens, usage.promptTokens))
            let perMillion = (Decimal(usage.promptTokens) - cachedTokens) * input + cachedTokens * cached + Decimal(usage.completionTokens) * output
            let list = perMillion / 1_000_000
            for lane in Lane.allCases {
                let cost = Cost(usage: usage, model: "m", lane: lane, completed: true, prices: table)
                #expect(cost.atListPrice == Money(list), "\(usage) at \(input)/\(cached)/\(output)")
                #expect(cost.billed == Money(lane == .realtime ? list : list * multiplier), "\(usage) × \(multiplier) in \(lane)")
            }
        }
    }

    @Test func anUnpricedModelIsNeverFreeAndAnUnfinishedRequestCostsNothing() {
        let usage = TokenUsage(promptTokens: 10, completionTokens: 10)
        let unpriced = Cost(usage: usage, model: "gpt-4o", lane: .batch, completed: true, prices: Self.prices)
        #expect(!unpriced.priced && unpriced.billed == nil && unpriced.atListPrice == nil && unpriced.saved == nil)
        let failed = Cost(usage: usage, model: "qwen-plus", lane: .batch, completed: false, prices: Self.prices)
        #expect(failed.priced && failed.billed == .zero && failed.atListPrice == .zero)
    }

    @Test func moneySumsExactlyAndIsRoundedOnlyWhenShown() {
        let third = Money(Decimal(string: "0.000000333333")!)
        #expect(third.picos == 333_333)
        let sum = (0..<3_000_000).reduce(Money.zero) { total, _ in total + third }
        #expect(sum.picos == 999_999_000_000, "no drift over three million additions")
        #expect(sum.formatted() == "0.999999" && sum.formatted(places: 3) == "1.000" && sum.formatted(places: 9) == "0.999999000")
        #expect(Money(picos: 60_000_000).formatted() == "0.000060")
        #expect(Money(Decimal(string: "0.0000000000005")!) == .zero, "half a pico rounds to even")
    }

    @Test func overridesComeFirstAndSetTheCurrencyAndMultiplier() {
        let operatorPrices = PriceTable(
            currency: "EUR", batchMultiplier: Decimal(string: "0.6")!,
            models: [("qwen-plus", ModelPrice(input: 1, output: 1))])
        let merged = Self.prices.overridden(by: operatorPrices)
        #expect(merged.currency == "EUR" && merged.batchMultiplier == Decimal(string: "0.6")!)
        #expect(merged.price(for: "qwen-plus") == ModelPrice(input: 1, output: 1))
        #expect(merged.price(for: "qwen-turbo") == ModelPrice(input: Decimal(string: "0.05")!, output: Decimal(string: "0.20")!))
    }
}

/// The shipped table: dated, and priced as its source says.
@Suite struct ShippedPricesTests {
    @Test func theFlagshipModelsArePricedAndOthersAreNot() {
        #expect(PriceTable.shippedOn == "2025-04-22")
        let plus = PriceTable.shipped.price(for: "qwen-plus")
        #expect(plus == ModelPrice(input: Decimal(string: "0.4")!, output: Decimal(string: "1.2")!, cachedInput: Decimal(string: "0.16")!))
        for (model, price) in PriceTable.shipped.models {
            #expect(price.cachedInput == price.input * Decimal(string: "0.4")!, "\(model): cached tokens at 40% of input")
        }
        #expect(PriceTable.shipped.price(for: "text-embedding-v4") == nil && PriceTable.shipped.batchMultiplier == Decimal(string: "0.5")!)
        let cost = Cost(
            usage: TokenUsage(promptTokens: 1_000_000, completionTokens: 1_000_000), model: "qwen-max", lane: .batch, completed: true,
            prices: PriceTable.shipped)
        #expect(cost.atListPrice == Money(Decimal(8)) && cost.billed == Money(Decimal(4)), "1.6 + 6.4 at list, half in a batch")
    }
}

/// The column lists and the values Core gives for them stay aligned.
@Suite struct StoredColumnsTests {
    @Test func everyListedColumnGetsAValue() {
        let new = NewDeferredRequest(
            record: DeferredRequest(id: "dfr_1", owner: "o", endpoint: "/v1/chat/completions", model: "m", createdAt: 1, bodyDigest: "d", bodyBytes: 2),
            body: Array("{}".utf8))
        #expect(new.storedValues.count == RequestColumns.accepted.names.count)
        let finish = RequestFinish(status: .completed, response: nil, error: nil, usage: nil, servedBy: .batch, deliveryDue: true)
        #expect(finish.storedChanges(now: 1).count == RequestColumns.finished.names.count)
        for (kind, value) in zip(RequestColumns.finished.kinds, finish.storedChanges(now: 1)) {
            switch (kind, value) {
            case (_, nil), (.text, .text?), (.integer, .integer?), (.real, .real?): continue
            default: Issue.record("\(String(describing: value)) under a \(kind) column")
            }
        }
    }
}
