import Hummingbird
import OffpeakCore

/// The overview: savings, queues with their controls, live batches with progress, and how each
/// model fared over the last day.
extension ConsoleRoutes {
    struct OverviewPage {
        let frame: ConsoleFrame
        let savings: [SavingsCard]
        let queues: [QueueRow]
        let hasQueues: Bool
        /// The live batches (named as the batch table names them).
        let batches: [BatchRow]
        let hasLive: Bool
        let models: [ModelRow]
        let hasModels: Bool
    }

    func overview(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let now = clock.now()
        let second = Int64(now.rounded(.down))
        async let queues = operations.queues(matching: GroupSelector())
        async let live = store.listBatches(BatchListQuery(open: true, limit: 50))
        async let stats = store.stats(from: now - 86_400, to: now + 1)
        async let today = store.usageTallies(UsageQuery(from: second / 86_400 * 86_400, to: second + 1))
        async let month = store.usageTallies(UsageQuery(from: second - UsageQuery.defaultPeriod, to: second + 1))
        let liveRows = try await live.data.map(BatchRow.init)
        let queueRows = try await queues.map(QueueRow.init)
        let modelRows = try await stats.map(ModelRow.init)
        let page = OverviewPage(
            frame: frame("Overview", "/console", context, refresh: true),
            savings: [
                SavingsCard(label: "Saved today (UTC)", report: UsageReport(query: UsageQuery(from: 0, to: 0), currency: currency, tallies: try await today)),
                SavingsCard(label: "Saved in the last 30 days", report: UsageReport(query: UsageQuery(from: 0, to: 0), currency: currency, tallies: try await month)),
            ],
            queues: queueRows, hasQueues: !queueRows.isEmpty, batches: liveRows, hasLive: !liveRows.isEmpty, models: modelRows,
            hasModels: !modelRows.isEmpty)
        return ConsoleTemplates.page("overview", page)
    }

    struct QueueForm: Decodable {
        let model: String?
        let endpoint: String?
        let upstream: String?
    }

    /// Pause, resume or flush the group the form names.
    func queueAction(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let action = try context.parameters.require("action")
        let form = try await Self.form(QueueForm.self, request)
        let selector = GroupSelector(model: form.model, endpoint: form.endpoint, upstream: form.upstream)
        let named = [form.model, form.endpoint].compactMap { $0 }.joined(separator: " ")
        return try await attempt(context, then: "/console") {
            switch action {
            case "pause", "resume":
                let groups = try await operations.setPaused(selector, action == "pause")
                guard !groups.isEmpty else { return "No queue matches \(named)." }
                return (action == "pause" ? "Paused " : "Resumed ") + groups.map(\.key.model).joined(separator: ", ")
                    + (action == "pause" ? ": it keeps accepting requests and is not flushed until resumed." : ".")
            case "flush":
                let started = try await operations.flush(selector)
                guard !started.isEmpty else { return "Nothing to flush for \(named) (empty or paused)." }
                return "Flushed: " + started.map { "\($0.id) (\($0.requestCount) requests)" }.joined(separator: ", ") + "."
            default:
                throw OpenAIError(.notFound, "No queue action '\(action)'.", code: "not_found")
            }
        }
    }
}
