import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffpeakCore

/// Posts callbacks with AsyncHTTPClient. The client must not follow redirects: a 3xx is an answer
/// like any other non-2xx, and a redirect could lead a callback into a private network.
public struct HTTPWebhookSender: WebhookSender {
    private let client: HTTPClient

    public init(client: HTTPClient) {
        self.client = client
    }

    public func send(url: String, headers: [(String, String)], body: [UInt8], timeout: Double) async -> WebhookAttempt {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
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
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: return "timed out"
            case .connectTimeout: return "connection timed out"
            case .remoteConnectionClosed: return "connection closed by the receiver"
            default: return "request failed: \(error.shortDescription)"
            }
        }
        return "connection failed: \(type(of: error))"
    }
}
