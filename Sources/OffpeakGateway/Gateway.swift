import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OffpeakCore
import OffpeakProvider
import ServiceLifecycle

/// The composition root of `offpeak serve`: the HTTP front plus the flusher and the poller, all
/// services of one application that stops gracefully on SIGTERM/SIGINT.
public enum Gateway {
    public static func build(
        configuration: GatewayConfiguration, store: any DeferredStore, httpClient: HTTPClient, signer: WebhookSigner,
        logger: Logger, callbackResolver: any HostResolver = SystemHostResolver(),
        metricsText: @escaping @Sendable () -> [UInt8] = { [] },
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let clock = SystemClock()
        let waiters = ResultWaiters()
        let provider = HTTPBatchProvider(client: httpClient, baseURL: configuration.upstreamURL, apiKey: configuration.upstreamAPIKey)
        let callbacks = CallbackURLPolicy(allowPrivate: configuration.allowPrivateCallbacks, resolver: callbackResolver)
        let dispatcher = Dispatcher(
            store: store, sender: HTTPWebhookSender(client: httpClient), signer: signer,
            configuration: .init(
                policy: DeliveryPolicy(retryDelays: configuration.webhookRetryDelays), timeout: configuration.webhookTimeout,
                callbacks: callbacks),
            clock: clock, logger: logger)
        let poller = Poller(
            store: store, provider: provider,
            configuration: .init(
                interval: configuration.pollInterval, rules: OutcomeRules(maxAttempts: configuration.maxAttempts),
                lease: configuration.lease),
            clock: clock, logger: logger,
            onTerminal: { settled in
                waiters.notify(settled.map(\.id))
                if settled.contains(where: \.hasCallback) { dispatcher.doorbell.ring() }
            })
        let flusher = Flusher(
            store: store, provider: provider,
            configuration: .init(
                policy: configuration.flush, completionWindow: configuration.completionWindow, lease: configuration.lease),
            clock: clock, logger: logger, onSubmitted: { poller.doorbell.ring() })
        let results = DeferredResults(
            store: store, waiters: waiters, maxWait: configuration.maxWait, pollInterval: configuration.pollInterval,
            deliveryDoorbell: dispatcher.doorbell, clock: clock)
        let intake = DeferredIntake(
            store: store, configuration: configuration, callbacks: callbacks, flusherDoorbell: flusher.doorbell, results: results,
            clock: clock)
        let passthrough = Passthrough(
            client: httpClient, upstreamURL: trimmed(configuration.upstreamURL), apiKey: configuration.upstreamAPIKey, logger: logger)
        let deferral = PolicyDeferral(
            policies: configuration.policies, intake: intake, results: results, passthrough: passthrough, store: store, clock: clock,
            logger: logger)
        let router = buildRouter(store: store, keys: configuration.clientKeys, intake: intake, results: results, deferral: deferral)
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metricsText())))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "offpeak"),
            services: [flusher, poller, dispatcher],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                logger.info("offpeak gateway listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
                await onRunning(port)
            },
            logger: logger
        )
    }

    static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    static func buildRouter(
        store: any DeferredStore, keys: [String], intake: DeferredIntake, results: DeferredResults, deferral: PolicyDeferral
    ) -> Router<GatewayContext> {
        let passthrough = deferral.passthrough
        let router = Router(context: GatewayContext.self)
        router.get("/healthz") { _, _ in JSONResponse.make(Array(#"{"status":"ok"}"#.utf8)) }
        router.get("/readyz") { _, _ in
            do {
                try await store.ping()
                return JSONResponse.make(Array(#"{"status":"ready"}"#.utf8))
            } catch {
                return JSONResponse.make(Array(#"{"status":"store unreachable"}"#.utf8), status: .serviceUnavailable)
            }
        }
        let v1 = router.group("/v1").add(middleware: ClientAuthMiddleware(keys: keys))
        v1.post("chat/completions") { request, context in
            let prefer = PreferHeader(request.headers[values: .prefer])
            if prefer.respondAsync {
                return try await intake.accept(request, context: context, endpoint: "/v1/chat/completions", prefer: prefer)
            }
            // No header: the operator's policies decide (passthrough when none matches).
            return try await deferral.handle(request, context: context)
        }
        results.register(on: v1)
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            v1.on("**", method: method) { request, context in try await passthrough.forward(request, context: context) }
        }
        return router
    }
}
