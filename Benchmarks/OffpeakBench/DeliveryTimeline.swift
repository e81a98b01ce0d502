import Foundation
import OffpeakCore
import Synchronization

/// How the webhook stage's deliveries spend their time (`OFFPEAK_BENCH_TIMELINE=1`): each store
/// call and send of the dispatcher timed, and the process's CPU over the delivery phase.
final class DeliveryTimeline: Sendable {
    struct Span: Sendable {
        var kind: String
        var seconds: Double
        var items: Int
    }

    private let spans = Mutex([Span]())
    private let started = Mutex((wall: 0.0, cpu: 0.0))

    func begin() {
        started.withLock { $0 = (Self.wall(), Self.cpu()) }
    }

    /// Times `body` as one `kind` call covering `items` (the rows a claim took).
    func measure<T>(_ kind: String, items: (T) -> Int = { _ in 1 }, _ body: () async throws -> T) async rethrows -> T {
        let start = Self.wall()
        let value = try await body()
        let span = Span(kind: kind, seconds: Self.wall() - start, items: items(value))
        spans.withLock { $0.append(span) }
        return value
    }

    func report(deliveries: Int) {
        let (wall, cpu) = started.withLock { (Self.wall() - $0.wall, Self.cpu() - $0.cpu) }
        print(String(format: "delivery phase: %.2f s, %.2f s of CPU (%.0f µs a delivery)", wall, cpu, cpu / Double(deliveries) * 1e6))
        let all = spans.withLock { $0 }
        for kind in Set(all.map(\.kind)).sorted() {
            let these = all.filter { $0.kind == kind }
            let milliseconds = these.map { $0.seconds * 1000 }.sorted()
            print(
                String(
                    format: "%@: %d calls, %d items, p50 %.2f ms, p90 %.2f ms, max %.2f ms, %.2f in flight on average", kind,
                    these.count, these.reduce(0) { $0 + $1.items }, milliseconds[milliseconds.count / 2],
                    milliseconds[milliseconds.count * 9 / 10], milliseconds.last!, milliseconds.reduce(0, +) / 1000 / wall))
        }
    }

    /// The floor under a delivery: `count` POSTs of a delivery's size through the same sender, 64
    /// at a time, with no store, no signing and no dispatcher, to the same in-process receiver.
    static func reportSendsAlone(sender: any WebhookSender, url: String, body: [UInt8], count: Int) async {
        let (wall, cpu) = (Self.wall(), Self.cpu())
        await withTaskGroup(of: Void.self) { group in
            for slot in 0..<64 {
                group.addTask {
                    for _ in stride(from: slot, to: count, by: 64) {
                        _ = await sender.send(url: url, addresses: [], headers: [("Content-Type", "application/json")], body: body, timeout: 15)
                    }
                }
            }
        }
        let (seconds, used) = (Self.wall() - wall, Self.cpu() - cpu)
        print(
            String(
                format: "sends alone (no store, no dispatcher): %.0f/s, %.0f µs of CPU a send (receiver included)", Double(count) / seconds,
                used / Double(count) * 1e6))
    }

    private static func wall() -> Double { Date().timeIntervalSince1970 }

    private static func cpu() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

/// The dispatcher's queue with each call timed.
struct TimedQueue: DeliveryQueue {
    let base: any DeliveryQueue
    let timeline: DeliveryTimeline

    func claimDeliveries(now: Timestamp, limit: Int, lease: Double) async throws -> [DeliveryJob] {
        try await timeline.measure("claim", items: \.count) { try await base.claimDeliveries(now: now, limit: limit, lease: lease) }
    }

    func recordDelivery(id: String, status: DeliveryStatus, statusCode: Int?, error: String?, next: Timestamp?) async throws {
        try await timeline.measure("record") {
            try await base.recordDelivery(id: id, status: status, statusCode: statusCode, error: error, next: next)
        }
    }

    func nextDeliveryAt() async throws -> Timestamp? {
        try await base.nextDeliveryAt()
    }

    func restartDelivery(id: String, owner: String, expected: DeferredStatus, now: Timestamp) async throws -> Bool {
        try await base.restartDelivery(id: id, owner: owner, expected: expected, now: now)
    }
}

/// The dispatcher's sender with each send timed.
struct TimedSender: WebhookSender {
    let base: any WebhookSender
    let timeline: DeliveryTimeline

    func send(url: String, addresses: [IPAddress], headers: [(String, String)], body: [UInt8], timeout: Double) async -> WebhookAttempt {
        await timeline.measure("send") { await base.send(url: url, addresses: addresses, headers: headers, body: body, timeout: timeout) }
    }
}
