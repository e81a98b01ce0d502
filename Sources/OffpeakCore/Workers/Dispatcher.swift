import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Delivers finished requests to their callback URLs, signed, from the store (which is the queue,
/// so a pending callback survives a restart), a bounded number at a time.
public final class Dispatcher<Clock: WorkerClock>: Service {
    public struct Configuration: Sendable {
        public var policy: DeliveryPolicy
        /// Seconds one attempt may take (15 by default).
        public var timeout: Double
        public var concurrency: Int
        public var callbacks: CallbackURLPolicy
        public var idleCheck: Double

        public init(policy: DeliveryPolicy, timeout: Double = 15, concurrency: Int = 64, callbacks: CallbackURLPolicy, idleCheck: Double = 1) {
            self.policy = policy
            self.timeout = timeout
            self.concurrency = max(1, concurrency)
            self.callbacks = callbacks
            self.idleCheck = idleCheck
        }
    }

    private let store: any DeliveryQueue
    private let sender: any WebhookSender
    /// Known once the application has started (the secret may be kept in the store).
    private let signer: StartupValue<WebhookSigner>
    private let configuration: Configuration
    private let clock: Clock
    private let logger: Logger
    public let doorbell: Doorbell
    private let inFlight = Mutex(0)
    /// Whether the last claim took as many deliveries as it had room for: a backlog is waiting.
    private let backlog = Mutex(false)
    private let backoff = Mutex(FaultBackoff())
    private let delivered = Counter(label: "offpeak_webhook_deliveries_total", dimensions: [("outcome", "delivered")])
    private let retried = Counter(label: "offpeak_webhook_deliveries_total", dimensions: [("outcome", "retried")])
    private let failed = Counter(label: "offpeak_webhook_deliveries_total", dimensions: [("outcome", "failed")])

    public convenience init(
        store: any DeliveryQueue, sender: any WebhookSender, signer: WebhookSigner, configuration: Configuration, clock: Clock,
        logger: Logger, doorbell: Doorbell = Doorbell()
    ) {
        self.init(
            store: store, sender: sender, signer: StartupValue(signer), configuration: configuration, clock: clock, logger: logger,
            doorbell: doorbell)
    }

    public init(
        store: any DeliveryQueue, sender: any WebhookSender, signer: StartupValue<WebhookSigner>, configuration: Configuration,
        clock: Clock, logger: Logger, doorbell: Doorbell = Doorbell()
    ) {
        self.store = store
        self.sender = sender
        self.signer = signer
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.doorbell = doorbell
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    let wait = await self.startDue(in: &group)
                    await self.doorbell.wait(seconds: wait, clock: self.clock)
                }
            }
        }
    }

    /// Starts the due deliveries there is room for; returns how long to wait before looking again.
    /// A claim is a write to the store, so while a backlog waits it is read in claims of at least a
    /// quarter of the slots rather than one claim for each delivery that ends; with no backlog, a
    /// delivery that comes due is claimed as soon as the dispatcher is rung.
    private func startDue(in group: inout DiscardingTaskGroup) async -> Double {
        let room = configuration.concurrency - inFlight.withLock { $0 }
        guard room > 0, room >= Self.smallestClaim(concurrency: configuration.concurrency, backlog: backlog.withLock { $0 }) else {
            return configuration.idleCheck
        }
        do {
            let now = clock.now()
            let jobs = try await store.claimDeliveries(now: now, limit: room, lease: configuration.timeout + 5)
            backlog.withLock { $0 = jobs.count == room }
            for job in jobs {
                inFlight.withLock { $0 += 1 }
                group.addTask {
                    await self.deliver(job)
                    self.inFlight.withLock { $0 -= 1 }
                    self.doorbell.ring()
                }
            }
            backoff.withLock { $0.succeeded("pending callbacks are read again", logger: logger) }
            if jobs.count == room { return configuration.idleCheck }
            guard let next = try await store.nextDeliveryAt() else { return configuration.idleCheck }
            return min(configuration.idleCheck, max(0.005, next - clock.now()))
        } catch {
            let delay = backoff.withLock { $0.failed(error, "could not read pending callbacks; backing off", logger: logger) }
            return max(configuration.idleCheck, delay)
        }
    }

    /// The fewest free slots worth a claim: one when the queue was drained, a quarter of the slots
    /// while a backlog waits (each ending delivery rings the dispatcher, and frees one slot).
    static func smallestClaim(concurrency: Int, backlog: Bool) -> Int {
        backlog ? max(1, concurrency / 4) : 1
    }

    /// One attempt: check the target again, sign, send, record what happened.
    public func deliver(_ job: DeliveryJob) async {
        let request = job.request
        let attempt = job.seriesAttempts + 1
        var metadata: Logger.Metadata = ["request": "\(request.id)", "attempt": "\(attempt)"]
        guard let url = request.callbackURL else { return }
        let result: WebhookAttempt
        do {
            // Checked again at delivery time: the name may resolve elsewhere now than at intake. The
            // attempt then goes to the addresses checked, not to a fresh look-up of the name.
            let target = try await configuration.callbacks.vet(url)
            let body = WebhookEvent.body(for: request)
            var headers = try await signer.value().headers(id: WebhookEvent.id(for: request), timestamp: Int(clock.now()), body: body)
            headers.append(("Content-Type", "application/json"))
            headers.append(("User-Agent", "offpeak-webhooks"))
            result = await sender.send(url: url, addresses: target.addresses, headers: headers, body: body, timeout: configuration.timeout)
        } catch {
            result = .failed("not sent: \(error)")
        }
        let decision = configuration.policy.decide(result, attempt: attempt)
        var statusCode: Int?
        var errorText: String?
        switch result {
        case .answered(let status, _):
            statusCode = status
            if !(200..<300).contains(status) { errorText = "the receiver answered \(status)" }
        case .failed(let reason):
            errorText = reason
        }
        let status: DeliveryStatus
        let next: Timestamp?
        switch decision {
        case .delivered:
            (status, next) = (.delivered, nil)
            delivered.increment()
            logger.debug("callback delivered", metadata: metadata)
        case .retry(let after):
            (status, next) = (.pending, clock.now() + after)
            retried.increment()
            metadata["retry_in"] = "\(after)"
            metadata["error"] = "\(errorText ?? "")"
            logger.info("callback attempt failed; will retry", metadata: metadata)
        case .giveUp:
            (status, next) = (.failed, nil)
            failed.increment()
            metadata["error"] = "\(errorText ?? "")"
            logger.warning("callback failed for good", metadata: metadata)
        }
        do {
            try await store.recordDelivery(id: request.id, status: status, statusCode: statusCode, error: errorText, next: next)
        } catch {
            logger.error("could not record a callback attempt; it will be retried", metadata: ["request": "\(request.id)", "error": "\(error)"])
        }
    }
}
