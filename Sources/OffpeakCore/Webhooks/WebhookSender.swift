/// Sends one signed callback; the HTTP implementation lives in OffpeakProvider.
public protocol WebhookSender: Sendable {
    /// Posts `body` to `url` without following redirects, giving up after `timeout` seconds. When
    /// `addresses` is not empty, the host was resolved and checked for this attempt: the request
    /// goes to one of those addresses and to no other, without looking the name up again.
    func send(url: String, addresses: [IPAddress], headers: [(String, String)], body: [UInt8], timeout: Double) async -> WebhookAttempt
}

/// What one delivery attempt came to.
public enum WebhookAttempt: Sendable, Equatable {
    case answered(status: Int, retryAfter: Double?)
    /// No answer: refused, reset, timed out, or not attempted (a private address at delivery time).
    case failed(String)
}
