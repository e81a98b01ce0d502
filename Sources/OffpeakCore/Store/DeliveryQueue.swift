/// Callbacks due: the store is the queue, so a pending callback survives a restart. Used by the
/// dispatcher, and by the front to redeliver.
public protocol DeliveryQueue: Sendable {
    /// Takes up to `limit` callbacks that are due, leasing each for `lease` seconds so that no other
    /// attempt starts meanwhile; one whose attempt never reports (a crash) is taken again after it.
    func claimDeliveries(now: Timestamp, limit: Int, lease: Double) async throws -> [DeliveryJob]
    /// Records one attempt: `next` is when to try again, nil when the series is over.
    func recordDelivery(id: String, status: DeliveryStatus, statusCode: Int?, error: String?, next: Timestamp?) async throws
    /// The earliest time a pending callback is due.
    func nextDeliveryAt() async throws -> Timestamp?
    /// Starts a new series of attempts for the request's callback (same event id), if the request
    /// is still `expected` (Core decides who may be redelivered). False otherwise.
    func restartDelivery(id: String, owner: String, expected: DeferredStatus, now: Timestamp) async throws -> Bool
}

public struct DeliveryJob: Sendable {
    public var request: DeferredRequest
    /// Attempts already made in the current series.
    public var seriesAttempts: Int

    public init(request: DeferredRequest, seriesAttempts: Int) {
        self.request = request
        self.seriesAttempts = seriesAttempts
    }
}
