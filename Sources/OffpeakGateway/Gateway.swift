import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OffpeakCore
import OffpeakProvider
import ServiceLifecycle

/// The composition root of `offpeak serve`: one application whose service group holds the store's
/// own services (first, so that they stop last), the workers, and the HTTP server. Before the
/// server starts, the store is migrated and the webhook secret read; the workers start then.
public enum Gateway {
    public static func build(
        configuration: GatewayConfiguration, store: any DeferredStore, httpClient: HTTPClient, relayClient: HTTP1Client = .shared,
        logger: Logger, callbackResolver: any HostResolver = SystemHostResolver(),
        metricsText: @escaping @Sendable () -> [UInt8] = { [] },
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let clock = SystemClock()
        let started = StartupValue<WebhookSigner>()
        let waiters = ResultWaiters()
        let upstreams = batchUpstreams(configuration, httpClient: httpClient)
        let callbacks = CallbackURLPolicy(allowPrivate: configuration.allowPrivateCallbacks, resolver: callbackResolver)
        let dispatcher = Dispatcher(
            store: store, sender: HTTPWebhookSender(client: relayClient), signer: started,
            configuration: .init(
                policy: DeliveryPolicy(retryDelays: configuration.webhookRetryDelays), timeout: configuration.webhookTimeout,
                callbacks: callbacks),
            clock: clock, logger: logger)
        let poller = Poller(
            store: store, upstreams: upstreams,
            configuration: .init(
                interval: configuration.pollInterval, rules: OutcomeRules(maxAttempts: configuration.maxAttempts),
                lease: configuration.lease, prices: configuration.prices, keepUpstreamFiles: configuration.keepUpstreamFiles),
            clock: clock, logger: logger,
            onTerminal: { settled in
                waiters.notify(settled.map(\.id))
                if settled.contains(where: \.hasCallback) { dispatcher.doorbell.ring() }
            })
        let flusher = Flusher(
            store: store, upstreams: upstreams,
            configuration: .init(
                policy: configuration.flush, completionWindow: configuration.completionWindow, lease: configuration.lease),
            clock: clock, logger: logger, onSubmitted: { poller.doorbell.ring() })

        let usage = UsageRecorder(store: store, clock: clock, logger: logger)
        let bounds = QueueBounds(limits: configuration.queueLimits)
        let boundsRefresher = QueueBoundsRefresher(store: store, bounds: bounds, clock: clock, logger: logger)
        let router = buildRouter(
            store: store, configuration: configuration, httpClient: httpClient, relayClient: relayClient, callbacks: callbacks,
            waiters: waiters,
            flusherDoorbell: flusher.doorbell, deliveryDoorbell: dispatcher.doorbell, usage: usage, flusher: flusher,
            upstreams: upstreams, bounds: bounds, metricsText: metricsText, clock: clock, logger: logger)
        let connections = ConnectionLimit(maximum: configuration.maxConnections ?? ConnectionLimit.defaultMaximum)
        var app = Application(
            router: router,
            // What is read of a body already answered (a 413) is bounded, and so are the
            // connections open at once and the time a client may hold one without sending a whole
            // request part (an idle keep-alive, a head trickled in, a body that stops).
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ConnectionLimit.Handler(connections), BodyDrainLimit()],
                    idleTimeout: configuration.idleTimeout > 0 ? .nanoseconds(Int64(configuration.idleTimeout * 1e9)) : nil)),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "offpeak"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                logger.info("offpeak gateway listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
                await onRunning(port)
            },
            logger: logger
        )
        app.addServices(store.services)
        // Stops after the server (which the application runs last), so the last calls are written.
        app.addServices(usage)
        var workers: [any Service] = [flusher, poller, dispatcher, boundsRefresher]
        if configuration.retention > 0 {
            workers.append(RetentionPurger(store: store, retention: configuration.retention, clock: clock, logger: logger))
        }
        app.addServices(workers.map { AfterStartup($0, gate: started) })
        app.beforeServerStarts {
            do {
                try await store.migrate()
            } catch {
                logger.critical("could not prepare the store; stopping", metadata: ["error": "\(String(reflecting: error))"])
                throw error
            }
            // The bounds know the queue before the first call is taken.
            try await boundsRefresher.refresh()
            started.set(try await WebhookSecrets.resolve(configured: configuration.webhookSecret, store: store, logger: logger))
        }
        return app
    }

    /// Each upstream's batch client (file batches, or Anthropic's Message Batches), and the flush
    /// policy within its limits.
    static func batchUpstreams(_ configuration: GatewayConfiguration, httpClient: HTTPClient) -> BatchUpstreams {
        var targets: [String: BatchUpstreams.Target] = [:]
        for upstream in configuration.routes.upstreams {
            let provider: any BatchProvider =
                switch upstream.kind {
                case .openai: HTTPBatchProvider(client: httpClient, baseURL: upstream.url, apiKey: upstream.apiKey)
                case .anthropic: AnthropicBatchProvider(client: httpClient, baseURL: upstream.url, apiKey: upstream.apiKey)
                }
            targets[upstream.name] = BatchUpstreams.Target(
                provider: provider,
                policy: BatchUpstreams.policy(configuration.flush, within: upstream.limits), completionWindow: upstream.completionWindow,
                pollInterval: upstream.pollInterval)
        }
        return BatchUpstreams(targets)
    }

    /// The routes, over a store: what the in-process route tests run without workers.
    public static func buildRouter(
        store: any DeferredStore, configuration: GatewayConfiguration, httpClient: HTTPClient, relayClient: HTTP1Client = .shared,
        callbacks: CallbackURLPolicy, waiters: ResultWaiters = ResultWaiters(), flusherDoorbell: Doorbell = Doorbell(),
        deliveryDoorbell: Doorbell = Doorbell(), usage: UsageRecorder? = nil, flusher: (any QueueFlushing)? = nil,
        upstreams: BatchUpstreams? = nil, bounds: QueueBounds? = nil,
        metricsText: @escaping @Sendable () -> [UInt8] = { [] },
        clock: SystemClock = SystemClock(), logger: Logger
    ) -> Router<GatewayContext> {
        let results = DeferredResults(
            store: store, waiters: waiters, maxWait: configuration.maxWait, pollInterval: configuration.pollInterval,
            deliveryDoorbell: deliveryDoorbell, clock: clock)
        let unavailable = StoreUnavailable(store: store, health: StoreHealth(), clock: clock, logger: logger)
        let intake = DeferredIntake(
            store: store, routes: configuration.routes, bounds: bounds ?? QueueBounds(limits: configuration.queueLimits),
            retryAfter: max(1, Int(min(configuration.flush.maxAge, 3600).rounded(.up))), maxRequestBytes: configuration.maxRequestBytes,
            flusherDoorbell: flusherDoorbell, unavailable: unavailable, clock: clock)
        let respondAsync = RespondAsync(intake: intake, results: results, callbacks: callbacks, maxWait: configuration.maxWait)
        let passthrough = Passthrough(
            client: relayClient, routes: configuration.routes,
            metering: usage.map { Passthrough.Metering(recorder: $0, prices: configuration.prices, clock: clock) }, logger: logger)
        let deferral = PolicyDeferral(
            policies: configuration.policies, intake: intake, results: results, passthrough: passthrough,
            flex: FlexLane(passthrough: passthrough, retry: RetryPolicy(baseDelay: 1, maxDelay: 60), clock: clock), store: store,
            prices: configuration.prices, clock: clock, logger: logger)

        let router = Router(context: GatewayContext.self)
        router.add(middleware: RequestMetrics())
        router.get("/healthz") { _, _ in JSONResponse.make(Array(#"{"status":"ok"}"#.utf8)) }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metricsText())))
        }
        router.get("/openapi.json") { _, _ in JSONResponse.make(APIDocument.bytes, headers: [.cacheControl: "no-cache"]) }
        let readiness = Readiness(unavailable)
        router.get("/readyz") { _, _ in await readiness.respond() }
        let v1 = router.group("/v1").add(middleware: ClientAuthMiddleware(keys: configuration.clientKeys))
            .add(middleware: StoreFaultMiddleware(store: store))
        for endpoint in BatchEndpoints.all {
            v1.post(RouterPath(String(endpoint.dropFirst("/v1/".count)))) { request, context in
                let prefer = PreferHeader(request.headers[values: .prefer])
                if prefer.respondAsync {
                    return try await respondAsync.accept(request, context: context, endpoint: endpoint, prefer: prefer)
                }
                // No header: the operator's policies decide (passthrough when none matches).
                return try await deferral.handle(request, context: context, endpoint: endpoint)
            }
        }
        results.register(on: v1)
        let reports = UsageReports(store: store, currency: configuration.prices.currency, clock: clock)
        reports.register(on: v1)
        let access = OperatorAccess(adminKeys: configuration.adminKeys, clientKeys: configuration.clientKeys, host: configuration.host)
        let admin = router.group("/admin/v1").add(middleware: AdminAuthMiddleware(access: access))
            .add(middleware: StoreFaultMiddleware(store: store))
        let operations = AdminRoutes(store: store, flusher: flusher, upstreams: upstreams, usage: reports, results: results, clock: clock)
        operations.register(on: admin)
        ConsoleRoutes(
            operations: operations, store: store,
            access: access,
            currency: configuration.prices.currency, secureCookie: configuration.consoleSecureCookie
        ).register(on: router)
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            v1.on("**", method: method) { request, context in try await passthrough.forward(request, context: context) }
        }
        return router
    }
}
