import Hummingbird
import OffpeakCore

/// Batches: the list with search and a status filter, one batch, and its cancel (confirmed on a
/// page of its own, which works with a keyboard and without script).
extension ConsoleRoutes {
    struct BatchesPage {
        let frame: ConsoleFrame
        let q: String
        let statuses: [Choice]
        let batches: [BatchRow]
        let hasBatches: Bool
        let olderHref: String?
    }

    func batches(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let status = parameters.get("status") ?? ""
        var query = try OpenAIError.parameters { () throws(InvalidParameter) in
            try BatchListQuery(parameter: { $0 == "status" && status == "open" ? nil : parameters.get($0) })
        }
        query.open = status == "open"
        let page = try await store.listBatches(query)
        let rows = page.data.map(BatchRow.init)
        var older: String?
        if page.hasMore, let last = rows.last {
            older = "/console/batches?q=\(Self.encoded(query.q ?? ""))&status=\(Self.encoded(status))&after=\(Self.encoded(last.id))"
        }
        let choices =
            [Choice(value: "", label: "Any status", selected: status.isEmpty), Choice(value: "open", label: "Not ended", selected: status == "open")]
            + BatchListQuery.statuses.sorted().map { Choice(value: $0, label: $0, selected: $0 == status) }
        return ConsoleTemplates.page(
            "batches",
            BatchesPage(
                frame: frame("Batches", "/console/batches", context, refresh: true), q: query.q ?? "", statuses: choices, batches: rows,
                hasBatches: !rows.isEmpty, olderHref: older))
    }

    struct BatchPage {
        let frame: ConsoleFrame
        let batch: BatchRow
    }

    func batch(_ context: ConsoleContext) async throws -> Response {
        let batch = try await found(context)
        return ConsoleTemplates.page(
            "batch", BatchPage(frame: frame("Batch \(batch.id)", "/console/batches", context, refresh: true), batch: BatchRow(batch)))
    }

    func cancelPage(_ context: ConsoleContext) async throws -> Response {
        let batch = try await found(context)
        guard BatchRow(batch).cancellable else { throw AdminRoutes.notCancellable(batch) }
        return ConsoleTemplates.page(
            "cancel", BatchPage(frame: frame("Cancel batch \(batch.id)?", "/console/batches", context), batch: BatchRow(batch)))
    }

    struct CancelForm: Decodable {
        let requeue: String?
    }

    func cancel(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let requeue = try await Self.form(CancelForm.self, request).requeue != nil
        return try await attempt(context, then: "/console/batches/\(Self.encoded(id))") {
            let batch = try await operations.cancel(id, requeue: requeue)
            return "Cancelling \(batch.id) upstream: rows it finished are kept; the others "
                + (requeue ? "go back to the queue." : "are cancelled.")
        }
    }

    func found(_ context: ConsoleContext) async throws -> BatchRecord {
        let id = try context.parameters.require("id")
        guard let batch = try await store.batch(id: id) else {
            throw OpenAIError(.notFound, "No batch with id '\(id)'.", param: "id", code: "batch_not_found")
        }
        return batch
    }
}
