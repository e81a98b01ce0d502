/// What the operator looks up (`/admin/v1`): batches, one by id or a page of them newest first;
/// any client's request with its trace across attempts; stats per model; callbacks by delivery
/// state. The queries' shapes are in `Operations/` (`BatchListQuery`, `DeliveryListQuery`).
public protocol OperatorViews: Sendable {
    func batch(id: String) async throws -> BatchRecord?
    func listBatches(_ query: BatchListQuery) async throws -> BatchListPage
    /// Any client's request, with every batch it was placed in.
    func trace(requestID: String) async throws -> RequestTrace?
    /// Per model: the deferred requests that ended in `from ..< to`, and what waits now.
    func stats(from: Timestamp, to: Timestamp) async throws -> [ModelStats]
    /// Requests with a callback, newest first, by the state of its delivery: any client's.
    func listDeliveries(_ query: DeliveryListQuery) async throws -> ListPage
}
