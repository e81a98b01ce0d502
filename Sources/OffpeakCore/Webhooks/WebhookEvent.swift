import Foundation

/// The body of a callback: `{"type","timestamp","data"}` with the deferred request object.
public enum WebhookEvent {
    /// One event per request: its id is the same on every attempt and every redelivery.
    public static func id(for request: DeferredRequest) -> String {
        "msg_" + request.id
    }

    public static func type(for request: DeferredRequest) -> String {
        request.status == .completed ? "deferred_request.completed" : "deferred_request.failed"
    }

    public static func body(for request: DeferredRequest) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 768 + (request.response?.body.count ?? 0))
        writer.beginObject()
        writer.field("type", type(for: request))
        writer.field("timestamp", rfc3339(request.completedAt ?? request.createdAt))
        writer.key("data")
        request.write(to: &writer)
        writer.endObject()
        return writer.bytes
    }

    static func rfc3339(_ time: Timestamp) -> String {
        Date(timeIntervalSince1970: time.rounded(.down)).formatted(.iso8601)
    }
}
