import Hummingbird
import OffpeakCore

/// `GET /v1/usage`: the usage report, computed by the store. A client key
/// sees its own traffic only; the operator's report over every key comes with the operator API.
struct UsageReports: Sendable {
    let store: any UsageLedger
    /// The report's currency: the price table's.
    let currency: String
    let clock: SystemClock

    func register(on group: RouterGroup<GatewayContext>) {
        group.get("usage") { request, context in try await report(request, owner: context.owner, allowsKey: false) }
    }

    /// The report for `owner` (nil: every key); bad parameters are a 400 naming the parameter.
    func report(_ request: Request, owner: String?, allowsKey: Bool) async throws -> Response {
        let parameters = request.uri.queryParameters
        let now = Int64(clock.now().rounded(.down))
        let query = try OpenAIError.parameters { () throws(InvalidParameter) in
            try UsageQuery(parameter: { parameters.get($0) }, owner: owner, now: now, allowsKey: allowsKey)
        }
        let tallies = try await store.usageTallies(query)
        return JSONResponse.make(UsageReport(query: query, currency: currency, tallies: tallies).jsonObject())
    }
}
