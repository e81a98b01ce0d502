import Foundation
import Logging
import OffpeakCore
import OffpeakTestSupport
import Synchronization
import Testing

/// The dispatcher in process, on the memory store and a manual clock, with a sender that answers
/// as scripted: the retry schedule is kept in the store and followed by the clock.
@Suite struct DispatcherTests {
    final class ScriptedSender: WebhookSender {
        let answers: Mutex<[WebhookAttempt]>
        let sent = Mutex<[(url: String, headers: [(String, String)], body: [UInt8])]>([])

        init(_ answers: [WebhookAttempt]) {
            self.answers = Mutex(answers)
        }

        func send(url: String, addresses: [IPAddress], headers: [(String, String)], body: [UInt8], timeout: Double) async -> WebhookAttempt {
            sent.withLock { $0.append((url, headers, body)) }
            return answers.withLock { $0.isEmpty ? .failed("no answer scripted") : $0.removeFirst() }
        }
    }

    /// A finished request whose callback is due.
    func finished(in store: MemoryStore, at now: Timestamp) async throws -> DeferredRequest {
        try #require(try await finished(1, in: store, at: now).first)
    }

    /// `count` requests finished in one batch, each with a callback due.
    func finished(_ count: Int, in store: MemoryStore, at now: Timestamp) async throws -> [DeferredRequest] {
        for index in 0..<count {
            let record = DeferredRequest(
                id: count == 1 ? "dfr_hook" : "dfr_hook_\(index)", owner: "o", endpoint: "/v1/chat/completions", model: "m",
                createdAt: now, callbackURL: "https://hooks.example.com/offpeak", bodyDigest: "d", bodyBytes: 13,
                delivery: DeliveryState(status: .pending))
            _ = try await store.accept(NewDeferredRequest(record: record, body: Array(#"{"model":"m"}"#.utf8)))
        }
        _ = try await store.claimBatch(
            id: "bat_1", group: GroupKey(endpoint: "/v1/chat/completions", model: "m"), policy: FlushPolicy(), now: now,
            lease: Lease(holder: "t", until: now + 30))
        let members = try await store.pendingMembers(batchID: "bat_1")
        let answer = StoredResponse(statusCode: 200, requestID: "r", body: Array(#"{"id":"x"}"#.utf8))
        let settled = try await store.settle(
            batchID: "bat_1", members.map { ($0.key, Settlement(.complete(answer, nil), member: $0.value)) }, now: now)
        #expect(settled == Set(members.keys) && settled.count == count)
        var requests: [DeferredRequest] = []
        for id in settled.sorted() { requests.append(try #require(try await store.request(id: id, owner: "o"))) }
        return requests
    }

    @Test func aFailedAttemptIsRetriedWhenTheClockSaysAndTheSameEventIsSignedEachTime() async throws {
        let store = MemoryStore()
        let clock = ManualClock()
        let request = try await finished(in: store, at: clock.now())
        #expect(request.delivery.status == .pending)
        let sender = ScriptedSender([.answered(status: 503, retryAfter: nil), .answered(status: 204, retryAfter: nil)])
        let secret = WebhookSigner.generateSecret()
        // Resolving names is not the dispatcher's concern here: the host is allowed as given.
        let dispatcher = Dispatcher(
            store: store, sender: sender, signer: try WebhookSigner(secrets: secret),
            configuration: .init(
                policy: DeliveryPolicy(retryDelays: [60, 600], jitter: 0),
                callbacks: CallbackURLPolicy(allowPrivate: true, resolver: FixedResolver())),
            clock: clock, logger: Logger(label: "dispatcher"))

        for job in try await store.claimDeliveries(now: clock.now(), limit: 10, lease: 20) { await dispatcher.deliver(job) }
        var current = try #require(try await store.request(id: request.id, owner: "o"))
        #expect(current.delivery.status == .pending && current.delivery.attempts == 1 && current.delivery.lastStatusCode == 503)
        #expect(try await store.nextDeliveryAt() == clock.now() + 60)
        clock.advance(by: 59)
        #expect(try await store.claimDeliveries(now: clock.now(), limit: 10, lease: 20).isEmpty, "not due for another second")
        clock.advance(by: 1)
        let retry = try await store.claimDeliveries(now: clock.now(), limit: 10, lease: 20)
        #expect(retry.map(\.seriesAttempts) == [1])
        for job in retry { await dispatcher.deliver(job) }
        current = try #require(try await store.request(id: request.id, owner: "o"))
        #expect(current.delivery.status == .delivered && current.delivery.attempts == 2)
        #expect(try await store.nextDeliveryAt() == nil)

        let sent = sender.sent.withLock { $0 }
        #expect(sent.count == 2 && sent.allSatisfy { $0.url == "https://hooks.example.com/offpeak" })
        let ids = sent.map { attempt in attempt.headers.first { $0.0 == "webhook-id" }?.1 }
        #expect(ids[0] != nil && ids[0] == ids[1], "one event id for every attempt")
        for attempt in sent {
            let headers = Dictionary(attempt.headers, uniquingKeysWith: { first, _ in first })
            let signer = try WebhookSigner(secrets: secret)
            let expected = signer.headers(id: headers["webhook-id"]!, timestamp: Int(headers["webhook-timestamp"]!)!, body: attempt.body)
            #expect(headers["webhook-signature"] == expected.first { $0.0 == "webhook-signature" }?.1)
        }
    }
}

extension DispatcherTests {
    /// The memory store, with every claim's limit and what it took written down.
    final class CountingQueue: DeliveryQueue {
        let store: MemoryStore
        let claims = Mutex<[(limit: Int, taken: Int)]>([])

        init(_ store: MemoryStore) { self.store = store }

        func claimDeliveries(now: Timestamp, limit: Int, lease: Double) async throws -> [DeliveryJob] {
            let jobs = try await store.claimDeliveries(now: now, limit: limit, lease: lease)
            claims.withLock { $0.append((limit, jobs.count)) }
            return jobs
        }
        func recordDelivery(id: String, status: DeliveryStatus, statusCode: Int?, error: String?, next: Timestamp?) async throws {
            try await store.recordDelivery(id: id, status: status, statusCode: statusCode, error: error, next: next)
        }
        func nextDeliveryAt() async throws -> Timestamp? { try await store.nextDeliveryAt() }
        func restartDelivery(id: String, owner: String, expected: DeferredStatus, now: Timestamp) async throws -> Bool {
            try await store.restartDelivery(id: id, owner: owner, expected: expected, now: now)
        }
    }

    final class StaggeredSender: WebhookSender {
        let sent = Mutex(0)

        func send(url: String, addresses: [IPAddress], headers: [(String, String)], body: [UInt8], timeout: Double) async -> WebhookAttempt {
            try? await Task.sleep(for: .microseconds(Int.random(in: 0...3000)))
            sent.withLock { $0 += 1 }
            return .answered(status: 204, retryAfter: nil)
        }
    }

    /// A claim is a write: a backlog is read in claims of a quarter of the slots or more, not one
    /// claim for each delivery that ends.
    @Test func aBacklogIsClaimedInBatchesAndEveryCallbackIsDelivered() async throws {
        let store = MemoryStore()
        let clock = ManualClock()
        let count = 200
        _ = try await finished(count, in: store, at: clock.now())

        let queue = CountingQueue(store)
        // Answers come back at staggered times, as from a network, so deliveries end one by one.
        let sender = StaggeredSender()
        let dispatcher = Dispatcher(
            store: queue, sender: sender, signer: try WebhookSigner(secrets: WebhookSigner.generateSecret()),
            configuration: .init(
                policy: DeliveryPolicy(retryDelays: [60]), concurrency: 16,
                callbacks: CallbackURLPolicy(allowPrivate: true, resolver: FixedResolver())),
            clock: clock, logger: Logger(label: "dispatcher"))
        let running = Task { try await dispatcher.run() }
        defer { running.cancel() }
        // A generous deadline: the whole suite shares two cores in CI. Should it run out, what was
        // claimed and sent says where the deliveries stopped.
        do {
            try await eventually("every callback delivered", within: 120) { try await store.nextDeliveryAt() == nil }
        } catch {
            Issue.record("\(error): sent \(sender.sent.withLock { $0 }), claims \(queue.claims.withLock { $0 })")
            return
        }

        #expect(sender.sent.withLock { $0 } == count)
        let claims = queue.claims.withLock { $0 }
        #expect(claims.reduce(0) { $0 + $1.taken } == count)
        // After a claim that filled its room, the next asks for a quarter of the slots at least.
        for (previous, claim) in zip(claims, claims.dropFirst()) where previous.taken == previous.limit {
            #expect(claim.limit >= 4, "\(claims)")
        }
        #expect(claims.count <= count / 4 + 2, "\(claims.count) claims for \(count) deliveries")
    }
}

/// Every name resolves to one public address.
struct FixedResolver: HostResolver {
    func addresses(of host: String) async -> [IPAddress] { [IPAddress("93.184.216.34")!] }
}
