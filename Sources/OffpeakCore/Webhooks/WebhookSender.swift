/// Sends one signed callback; the HTTP implementation lives in OffpeakProvider.
public protocol WebhookSender: Sendable {
    /// Posts `body` to `url` without following redirects, giving up after `timeout` seconds.
    func send(url: String, headers: [(String, String)], body: [UInt8], timeout: Double) async -> WebhookAttempt
}

/// What one delivery attempt came to.
public enum WebhookAttempt: Sendable, Equatable {
    case answered(status: Int, retryAfter: Double?)
    /// No answer: refused, reset, timed out, or not attempted (a private address at delivery time).
    case failed(String)
}
