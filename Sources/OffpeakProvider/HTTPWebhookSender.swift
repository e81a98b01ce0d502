import Foundation
import NIOCore
import NIOHTTP1
import OffpeakCore

/// Posts callbacks over the lean pooled client. It follows no redirects: a 3xx is an answer like
/// any other non-2xx, and a redirect could lead a callback into a private network.
public struct HTTPWebhookSender: WebhookSender {
    private let client: HTTP1Client

    public init(client: HTTP1Client = .shared) {
        self.client = client
    }

    public func send(url: String, addresses: [IPAddress], headers: [(String, String)], body: [UInt8], timeout: Double) async
        -> WebhookAttempt
    {
        guard let target = HTTP1Client.Target(url: url) else { return .failed("request failed: unsupported URL") }
        let pinned = addresses.compactMap { try? SocketAddress(packedIPAddress: ByteBuffer(bytes: $0.bytes), port: target.port) }
        guard pinned.count == addresses.count else { return .failed("request failed: unusable address") }
        var fields = HTTPHeaders()
        fields.reserveCapacity(headers.count)
        for (name, value) in headers { fields.add(name: name, value: value) }
        // Deliveries are at least once (the receiver deduplicates by the event's id), so a call
        // lost with a pooled connection is sent again at once rather than at the next retry.
        let request = HTTP1Client.Request(
            target: target, method: .POST, headers: fields, body: .bytes(ByteBuffer(bytes: body)), idempotent: true,
            addresses: pinned)
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            // Read (and drop) a bounded answer so that the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 << 10)
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            return .answered(status: Int(response.status.code), retryAfter: retryAfter)
        } catch {
            return .failed(Self.describe(error))
        }
    }

    /// A short reason for the delivery block, never the whole error (which may carry the URL).
    static func describe(_ error: any Error) -> String {
        if let failure = error as? HTTP1Client.Failure {
            return failure == .connectionClosed ? "connection closed by the receiver" : failure.shortDescription
        }
        return "connection failed: \(type(of: error))"
    }
}
