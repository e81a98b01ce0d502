import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import OffpeakCore
import OffpeakProvider
import OffpeakSQLite
import ServiceLifecycle

/// Signed deliveries to a loopback receiver that answers 204, from a store of finished requests,
/// beside the rate at which wrk's unsigned POSTs of the same size reach the same receiver.
enum WebhookStage {
    static let count = 10_000

    struct Figures {
        var deliveriesPerSecond: Double
        var wrkPerSecond: Double
    }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("webhook.lua").path
    }

    actor PortBox {
        var port: Int?
        func set(_ value: Int) { port = value }
    }

    static func run(client: HTTPClient) async throws -> Figures {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let router = Router()
        router.post("/hook") { _, _ in Response(status: .noContent) }
        let ports = PortBox()
        let receiver = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { await ports.set($0.localAddress?.port ?? 0) }, logger: Logger(label: "receiver"))
        let receiverGroup = ServiceGroup(services: [receiver], gracefulShutdownSignals: [], logger: Logger(label: "bench"))
        return try await withThrowingTaskGroup(of: Figures?.self) { group in
            group.addTask { try await receiverGroup.run(); return nil }
            var port: Int?
            while port == nil {
                try await Task.sleep(for: .milliseconds(10))
                port = await ports.port
            }
            let unsigned = try AcceptStage.wrk(url: "http://127.0.0.1:\(port!)/hook", seconds: 5, script: script).requestsPerSecond
            let store = try SQLiteStore(path: folder.appendingPathComponent("offpeak.sqlite").path)
            try await store.migrate()
            let now = Date().timeIntervalSince1970
            var ids: [String] = []
            for index in 0..<count {
                let id = Identifier.deferred()
                ids.append(id)
                let body = Bodies.chat(index: index)
                _ = try await store.accept(NewDeferredRequest(
                    record: DeferredRequest(
                        id: id, owner: "", endpoint: "/v1/chat/completions", model: "qwen-plus", createdAt: now,
                        callbackURL: "http://127.0.0.1:\(port!)/hook", bodyDigest: id, bodyBytes: body.count,
                        delivery: DeliveryState(status: .pending)),
                    body: body))
            }
            _ = try await store.claimBatch(
                id: "bat_bench", group: GroupKey(endpoint: "/v1/chat/completions", model: "qwen-plus"),
                policy: FlushPolicy(maxRequests: 50_000, maxBytes: 500_000_000, maxAge: 0), now: now,
                lease: Lease(holder: "bench", until: now + 3600))
            let answer = StoredResponse(statusCode: 200, requestID: "req", body: Array(#"{"object":"chat.completion","choices":[]}"#.utf8))
            for chunk in stride(from: 0, to: ids.count, by: 1000) {
                let finish = RequestFinish(
                    status: .completed, response: answer, error: nil, usage: nil, servedBy: .batch, deliveryDue: true)
                let settlements = ids[chunk..<min(chunk + 1000, ids.count)].map { (id: $0, settlement: Settlement.finish(finish)) }
                _ = try await store.settle(batchID: "bat_bench", Array(settlements), now: now)
            }
            // OFFPEAK_BENCH_TIMELINE=1: the dispatcher's store calls and sends timed, and the
            // process's CPU over the delivery phase, printed after the run.
            let timed = ProcessInfo.processInfo.environment["OFFPEAK_BENCH_TIMELINE"] != nil
            let timeline = DeliveryTimeline()
            let sender: any WebhookSender =
                ProcessInfo.processInfo.environment["OFFPEAK_BENCH_TIMELINE"] == "nosend" ? AnsweringSender() : HTTPWebhookSender(client: HTTP1Client())
            let dispatcher = Dispatcher(
                store: timed ? TimedQueue(base: store, timeline: timeline) : store,
                sender: timed ? TimedSender(base: sender, timeline: timeline) : sender,
                signer: try WebhookSigner(secrets: WebhookSigner.generateSecret()),
                configuration: .init(
                    policy: DeliveryPolicy(retryDelays: [1, 1, 1]), callbacks: CallbackURLPolicy(allowPrivate: true)),
                clock: SystemClock(), logger: Logger(label: "dispatcher"))
            let dispatcherGroup = ServiceGroup(services: [dispatcher], gracefulShutdownSignals: [], logger: Logger(label: "bench"))
            let start = ContinuousClock.now
            timeline.begin()
            group.addTask { try await dispatcherGroup.run(); return nil }
            while try await store.nextDeliveryAt() != nil {
                try await Task.sleep(for: .milliseconds(20))
            }
            let rate = Double(count) / Measure.seconds(since: start)
            if timed {
                timeline.report(deliveries: count)
                let sample = try await store.request(id: ids[0], owner: "")
                await DeliveryTimeline.reportSendsAlone(
                    sender: sender, url: "http://127.0.0.1:\(port!)/hook", body: sample.map(WebhookEvent.body(for:)) ?? [], count: count)
            }
            await dispatcherGroup.triggerGracefulShutdown()
            await receiverGroup.triggerGracefulShutdown()
            return Figures(deliveriesPerSecond: rate, wrkPerSecond: unsigned)
        }
    }
}

/// A sender that answers 204 at once (`OFFPEAK_BENCH_TIMELINE=nosend`): the delivery's cost less the send.
struct AnsweringSender: WebhookSender {
    func send(url: String, addresses: [IPAddress], headers: [(String, String)], body: [UInt8], timeout: Double) async -> WebhookAttempt {
        .answered(status: 204, retryAfter: nil)
    }
}
