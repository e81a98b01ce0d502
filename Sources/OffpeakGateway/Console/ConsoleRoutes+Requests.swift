import Foundation
import Hummingbird
import OffpeakCore

/// Requests: any client's request looked up by id with its trace, and callbacks by delivery state,
/// each with redelivery.
extension ConsoleRoutes {
    struct RequestsPage {
        let frame: ConsoleFrame
        let id: String
        let request: RequestView?
        let missing: Bool
    }

    func lookUp(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let id = (request.uri.queryParameters.get("id") ?? "").trimmingCharacters(in: .whitespaces)
        let trace = id.isEmpty ? nil : try await store.trace(requestID: id)
        let page = RequestsPage(
            frame: frame(trace == nil ? "Requests" : "Request \(id)", "/console/requests", context, refresh: trace != nil), id: id,
            request: trace.map(RequestView.init), missing: !id.isEmpty && trace == nil)
        return ConsoleTemplates.page("requests", page, status: page.missing ? .notFound : .ok)
    }

    struct RedeliverForm: Decodable {
        let next: String?
    }

    func redeliver(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let next = Self.safeNext(try await Self.form(RedeliverForm.self, request).next)
        return try await attempt(context, then: next) {
            _ = try await operations.redeliver(id)
            return "The callback of \(id) is queued to be sent again."
        }
    }

    struct DeliveriesPage {
        let frame: ConsoleFrame
        let statuses: [Choice]
        let deliveries: [DeliveryRow]
        let hasDeliveries: Bool
        let olderHref: String?
        let here: String
    }

    func deliveries(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let query = try OpenAIError.parameters { () throws(InvalidParameter) in
            try DeliveryListQuery(parameter: { parameters.get($0) })
        }
        let page = try await store.listDeliveries(query)
        let rows = page.data.map(DeliveryRow.init)
        let status = query.status?.rawValue ?? ""
        var older: String?
        if page.hasMore, let last = rows.last {
            older = "/console/deliveries?status=\(status)&after=\(Self.encoded(last.id))"
        }
        let choices = [Choice(value: "", label: "Any state", selected: status.isEmpty)]
            + ["pending", "delivered", "failed"].map { Choice(value: $0, label: $0, selected: $0 == status) }
        return ConsoleTemplates.page(
            "deliveries",
            DeliveriesPage(
                frame: frame("Callback deliveries", "/console/deliveries", context, refresh: true), statuses: choices, deliveries: rows,
                hasDeliveries: !rows.isEmpty, olderHref: older, here: request.uri.description))
    }
}
