/// Which groups an operator's queue action applies to: `{"model"?, "endpoint"?, "upstream"?}`,
/// each absent field matching every group (an empty body: all of them).
public struct GroupSelector: Sendable, Equatable {
    public var model: String?
    public var endpoint: String?
    public var upstream: String?

    public init(model: String? = nil, endpoint: String? = nil, upstream: String? = nil) {
        self.model = model
        self.endpoint = endpoint
        self.upstream = upstream
    }

    /// A body the selector cannot be read from; `field` names what is wrong.
    public struct Invalid: Error, Sendable, Equatable {
        public let field: String?
        public let message: String
    }

    static let fields: Set<String> = ["model", "endpoint", "upstream"]

    /// From a request body: empty, or a JSON object whose members are strings among `model`,
    /// `endpoint`, `upstream`.
    public init(body: [UInt8]) throws(Invalid) {
        guard body.contains(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else {
            self.init()
            return
        }
        let view: JSONObjectView
        do {
            view = try JSONObjectView(body)
        } catch {
            throw Invalid(field: nil, message: "The body must be a JSON object: \(error)")
        }
        for member in view.members {
            guard Self.fields.contains(member.key) else {
                throw Invalid(field: member.key, message: "Unknown field '\(member.key)'; a group is chosen by model, endpoint and upstream.")
            }
            guard member.kind == .string || member.kind == .null else {
                throw Invalid(field: member.key, message: "'\(member.key)' must be a string.")
            }
        }
        self.init(model: view.string("model"), endpoint: view.string("endpoint"), upstream: view.string("upstream"))
    }

    public func matches(_ key: GroupKey) -> Bool {
        (model.map { $0 == key.model } ?? true) && (endpoint.map { $0 == key.endpoint } ?? true)
            && (upstream.map { $0 == key.upstream } ?? true)
    }
}

/// One group as the operator sees it (`GET /admin/v1/queues`).
public struct QueueGroup: Sendable, Equatable {
    public var key: GroupKey
    public var upstream: String { key.upstream }
    public var queued: Int
    /// The JSONL bytes its queued requests would take in a batch file.
    public var bytes: Int
    public var oldestAgeSeconds: Double?
    public var paused: Bool

    public init(key: GroupKey, queued: Int, bytes: Int, oldestAgeSeconds: Double?, paused: Bool) {
        self.key = key
        self.queued = queued
        self.bytes = bytes
        self.oldestAgeSeconds = oldestAgeSeconds
        self.paused = paused
    }

    /// Every group with requests queued, and every paused group (queued or not), by model then endpoint.
    public static func list(backlogs: [GroupBacklog], paused: Set<GroupKey>, now: Timestamp) -> [QueueGroup] {
        var groups: [GroupKey: QueueGroup] = [:]
        for backlog in backlogs {
            groups[backlog.key] = QueueGroup(
                key: backlog.key, queued: backlog.count, bytes: backlog.lineBytes,
                oldestAgeSeconds: max(0, now - backlog.oldestCreatedAt), paused: paused.contains(backlog.key))
        }
        for key in paused where groups[key] == nil {
            groups[key] = QueueGroup(key: key, queued: 0, bytes: 0, oldestAgeSeconds: nil, paused: true)
        }
        return groups.values.sorted { ($0.key.model, $0.key.endpoint, $0.key.upstream) < ($1.key.model, $1.key.endpoint, $1.key.upstream) }
    }

    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("object", "offpeak.queue")
        writer.field("upstream", upstream)
        writer.field("endpoint", key.endpoint)
        writer.field("model", key.model)
        writer.field("queued", queued)
        writer.field("bytes", bytes)
        writer.field("oldest_age_seconds", oldestAgeSeconds.map { Int($0.rounded(.down)) })
        writer.key("paused")
        writer.bool(paused)
        writer.endObject()
    }
}
