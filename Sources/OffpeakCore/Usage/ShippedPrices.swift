import Foundation

extension PriceTable {
    /// The real-time list prices Offpeak ships, in USD per million tokens; the config file's
    /// `prices` section comes first and may replace any of them.
    ///
    /// Source: Alibaba Cloud Model Studio (international), "Billing for model services"
    /// (https://www.alibabacloud.com/help/en/model-studio/billing-for-model-studio), as last updated
    /// on 2025-04-22: the flagship models' lowest-tier prices (qwen-plus and qwen-turbo charge more
    /// for very long prompts; those tiers are not modelled), and cached prompt tokens at 40% of the
    /// input price, as the same page states. Models it does not list (qwen-flash, the qwen3.5 series,
    /// text-embedding-v4, OpenAI and Anthropic models) are unpriced until an operator prices them:
    /// reported with `"priced": false`, never as free.
    public static let shippedOn = "2025-04-22"

    public static let shipped = PriceTable(
        currency: "USD", batchMultiplier: Decimal(string: "0.5")!,
        models: [
            ("qwen-max", ModelPrice(input: Decimal(string: "1.6")!, output: Decimal(string: "6.4")!, cachedInput: Decimal(string: "0.64")!)),
            ("qwen-plus", ModelPrice(input: Decimal(string: "0.4")!, output: Decimal(string: "1.2")!, cachedInput: Decimal(string: "0.16")!)),
            ("qwen-turbo", ModelPrice(input: Decimal(string: "0.05")!, output: Decimal(string: "0.2")!, cachedInput: Decimal(string: "0.02")!)),
        ])
}
