import Hummingbird
import NIOCore
import OffpeakCore

/// The operator API (`/admin/v1`): queues, batches, requests, stats and usage
/// over every key. Each part is in a file of its own (`AdminRoutes+Queues.swift`, …).
struct AdminRoutes: Sendable {
    let store: any BatchQueue & QueueControl & OperatorViews
    let flusher: (any QueueFlushing)?
    let upstreams: BatchUpstreams?
    let usage: UsageReports
    let results: DeferredResults
    let clock: SystemClock

    func register(on group: RouterGroup<GatewayContext>) {
        group.get("usage") { request, _ in try await usage.report(request, owner: nil, allowsKey: true) }
        group.get("queues") { _, _ in try await queues() }
        group.post("queues/pause") { request, _ in try await setPaused(request, true) }
        group.post("queues/resume") { request, _ in try await setPaused(request, false) }
        group.post("queues/flush") { request, _ in try await flush(request) }
        group.get("batches") { request, _ in try await batches(request) }
        group.get("batches/:id") { _, context in try await batch(context.parameters.require("id")) }
        group.post("batches/:id/cancel") { request, context in try await cancel(context.parameters.require("id"), request) }
        group.get("requests/:id") { _, context in try await trace(context.parameters.require("id")) }
        group.get("stats") { request, _ in try await stats(request) }
        group.get("deliveries") { request, _ in try await deliveries(request) }
        group.post("requests/:id/redeliver") { _, context in try await redeliver(context.parameters.require("id")) }
    }
}
