import Hummingbird
import OffpeakCore

/// OpenAI's list shape, `{"object":"list","data":[…]}`, and for a page of it `first_id`,
/// `last_id` and `has_more`.
enum ListResponse {
    static func make<T>(_ items: [T], page: (hasMore: Bool, id: (T) -> String)? = nil, write: (T, inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter(reservingCapacity: 128 + items.count * 512)
        writer.beginObject()
        writer.field("object", "list")
        writer.key("data")
        writer.beginArray()
        for item in items { write(item, &writer) }
        writer.endArray()
        if let page {
            writer.field("first_id", items.first.map(page.id))
            writer.field("last_id", items.last.map(page.id))
            writer.key("has_more")
            writer.bool(page.hasMore)
        }
        writer.endObject()
        return JSONResponse.make(writer.bytes)
    }
}
