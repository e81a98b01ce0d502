import Foundation
import Logging
import OffpeakCore
import OffpeakProvider
import OffpeakTestSupport
import Synchronization
import Testing

/// A callback host that resolved to a public address at intake and to a private one at delivery
/// (DNS rebinding) is not contacted. The name is under `.test`, which never resolves for real, so a
/// wrongly sent request could not leave the machine either.
@Suite struct DeliveryTimeCheckTests {
    final class SwitchingResolver: HostResolver {
        let answer = Mutex([IPAddress("93.184.216.34")!])
        func addresses(of host: String) async -> [IPAddress] { answer.withLock { $0 } }
    }

    /// A request accepted with `callbackURL`, run in a batch and completed: its callback is due.
    static func finished(callbackURL url: String, in store: MemoryStore) async throws -> DeferredRequest {
        let now = Date().timeIntervalSince1970
        let record = DeferredRequest(
            id: "dfr_callback", owner: "", endpoint: "/v1/chat/completions", model: "m", createdAt: now, callbackURL: url,
            bodyDigest: "d", bodyBytes: 13, delivery: DeliveryState(status: .pending))
        _ = try await store.accept(NewDeferredRequest(record: record, body: Array(#"{"model":"m"}"#.utf8)))
        let batch = try #require(try await store.claimBatch(id: "bat_1", group: GroupKey(endpoint: "/v1/chat/completions", model: "m"), policy: FlushPolicy(), now: now, lease: Lease(holder: "test", until: now + 30)))
        let member = try #require(try await store.pendingMembers(batchID: batch.id)[record.id])
        let answer = StoredResponse(statusCode: 200, requestID: "r", body: Array("{}".utf8))
        let done = try await store.settle(batchID: batch.id, [(record.id, Settlement(.complete(answer, nil), member: member))], now: now)
        #expect(done.count == 1)
        return record
    }

    @Test func aNameThatNowResolvesToLoopbackIsRefusedAtDelivery() async throws {
        let resolver = SwitchingResolver()
        let callbacks = CallbackURLPolicy(allowPrivate: false, resolver: resolver)
        let url = "http://hooks.offpeak.test/callback"
        _ = try await callbacks.check(url)  // what intake sees

        let store = MemoryStore()
        let record = try await Self.finished(callbackURL: url, in: store)

        resolver.answer.withLock { $0 = [IPAddress("127.0.0.1")!] }
        let dispatcher = Dispatcher(
            store: store, sender: HTTPWebhookSender(),
            signer: try WebhookSigner(secrets: WebhookSigner.generateSecret()),
            configuration: .init(policy: DeliveryPolicy(retryDelays: [60]), timeout: 2, callbacks: callbacks),
            clock: SystemClock(), logger: Logger(label: "test"))
        let jobs = try await store.claimDeliveries(now: Date().timeIntervalSince1970, limit: 10, lease: 30)
        #expect(jobs.map(\.request.id) == [record.id])
        for job in jobs { await dispatcher.deliver(job) }

        let after = try #require(try await store.request(id: record.id, owner: ""))
        #expect(after.delivery.attempts == 1)
        #expect(after.delivery.status == .pending, "retried later, in case the name comes back")
        #expect(after.delivery.lastStatusCode == nil, "nothing answered: nothing was contacted")
        #expect(after.delivery.lastError?.contains("private") == true, "\(after.delivery.lastError ?? "")")
    }

    /// What the sender is handed: the addresses checked at this attempt (none when nothing was
    /// looked up). A sender that records them, so nothing is contacted.
    final class RecordingSender: WebhookSender {
        let addresses = Mutex<[[IPAddress]]>([])
        func send(url: String, addresses: [IPAddress], headers: [(String, String)], body: [UInt8], timeout: Double) async -> WebhookAttempt {
            self.addresses.withLock { $0.append(addresses) }
            return .answered(status: 204, retryAfter: nil)
        }
    }

    @Test func theAttemptGoesToTheAddressesCheckedForIt() async throws {
        let resolver = SwitchingResolver()
        resolver.answer.withLock { $0 = [IPAddress("93.184.216.34")!, IPAddress("2606:2800:220:1::1")!] }
        for (callbacks, url, expected) in [
            (CallbackURLPolicy(allowPrivate: false, resolver: resolver), "https://hooks.offpeak.test/callback",
                [IPAddress("93.184.216.34")!, IPAddress("2606:2800:220:1::1")!]),
            (CallbackURLPolicy(allowPrivate: false, resolver: resolver), "https://93.184.216.35/callback", []),
            (CallbackURLPolicy(allowPrivate: true, resolver: resolver), "http://hooks.offpeak.test/callback", []),
        ] {
            let store = MemoryStore()
            _ = try await Self.finished(callbackURL: url, in: store)
            let sender = RecordingSender()
            let dispatcher = Dispatcher(
                store: store, sender: sender, signer: try WebhookSigner(secrets: WebhookSigner.generateSecret()),
                configuration: .init(policy: DeliveryPolicy(retryDelays: [60]), timeout: 2, callbacks: callbacks),
                clock: SystemClock(), logger: Logger(label: "test"))
            for job in try await store.claimDeliveries(now: Date().timeIntervalSince1970, limit: 10, lease: 30) { await dispatcher.deliver(job) }
            #expect(sender.addresses.withLock { $0 } == [expected], "\(url)")
        }
    }
}
