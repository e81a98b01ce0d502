/// One rule of an operator's deferral policy (the README's "Deferral by policy"): which calls
/// it matches and what becomes of them. Rules are evaluated in order; the first that matches wins.
public struct DeferralRule: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        case passthrough
        /// Into a batch file (the batch lane).
        case `defer`
        /// Sent at once with `service_tier: "flex"`, on upstreams that sell it (the flex lane).
        case flex
    }

    /// What happens at the deadline to a request the batch has not answered yet.
    public enum Fallback: String, Sendable, CaseIterable {
        /// Withdraw it and answer from real time, only if it is still queued (nothing is paid twice).
        case whenQueued = "when-queued"
        /// Answer from real time either way.
        case always
        /// Answer 504 with the request id; the result stays retrievable.
        case never
    }

    /// What becomes of a `stream: true` call the rule defers.
    public enum StreamMode: String, Sendable, CaseIterable {
        /// Sent in the batch without `stream`; the result is replayed as server-sent events.
        case replay
        /// Not deferred: passed straight through, streaming.
        case passthrough
    }

    /// What becomes of a call the rule defers whose body cannot be deferred (over the size limit,
    /// not a JSON object, no model).
    public enum Undeferrable: String, Sendable, CaseIterable {
        /// Answered with the same 4xx a `Prefer: respond-async` call would get.
        case reject
        /// Passed straight through to the provider.
        case passthrough
    }

    public var name: String
    /// Client keys (as in `OFFPEAK_API_KEYS`); nil matches any caller.
    public var keys: [String]?
    /// Model globs (`*` any run of characters, `?` one); nil matches any model.
    public var models: [String]?
    /// Request paths (globs too); nil matches any path.
    public var paths: [String]?
    /// Header name (any case) → exact value; every one must be present with that value.
    public var headers: [String: String]?
    public var action: Action
    /// Seconds the client's connection may be held waiting for the batch result.
    public var hold: Double
    /// Seconds after acceptance when `fallback` applies; nil: none, wait until `hold`.
    public var deadline: Double?
    public var fallback: Fallback
    public var stream: StreamMode
    public var undeferrable: Undeferrable

    public init(
        name: String, keys: [String]? = nil, models: [String]? = nil, paths: [String]? = nil, headers: [String: String]? = nil,
        action: Action, hold: Double = 3600, deadline: Double? = nil, fallback: Fallback = .whenQueued, stream: StreamMode = .replay,
        undeferrable: Undeferrable = .reject
    ) {
        self.name = name
        self.keys = keys
        self.models = models
        self.paths = paths
        self.headers = headers.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.key.lowercased(), $0.value) }) }
        self.action = action
        self.hold = hold
        self.deadline = deadline
        self.fallback = fallback
        self.stream = stream
        self.undeferrable = undeferrable
    }

    /// True when every field the rule sets holds for the call.
    public func matches(_ call: CallFacts) -> Bool {
        if let keys, !keys.contains(where: { call.isKey($0) }) { return false }
        if let models {
            guard let model = call.model, models.contains(where: { Glob.matches($0, model) }) else { return false }
        }
        if let paths, !paths.contains(where: { Glob.matches($0, call.path) }) { return false }
        if let headers {
            for (name, value) in headers where call.header(name) != value { return false }
        }
        return true
    }
}

/// What a rule may look at in a call.
public struct CallFacts: Sendable {
    public var path: String
    public var model: String?
    /// Whether the caller presented this client key.
    public var isKey: @Sendable (String) -> Bool
    /// A request header's value by lowercased name.
    public var header: @Sendable (String) -> String?

    public init(
        path: String, model: String?, isKey: @escaping @Sendable (String) -> Bool, header: @escaping @Sendable (String) -> String?
    ) {
        self.path = path
        self.model = model
        self.isKey = isKey
        self.header = header
    }
}

/// The rules in force, in order.
public struct DeferralPolicies: Sendable, Equatable {
    public var rules: [DeferralRule]

    public init(rules: [DeferralRule] = []) {
        self.rules = rules
    }

    public var isEmpty: Bool { rules.isEmpty }

    /// The first rule that matches, if any.
    public func rule(for call: CallFacts) -> DeferralRule? {
        rules.first { $0.matches(call) }
    }
}

/// Shell-style globs: `*` any run of characters, `?` any one; everything else literal.
public enum Glob {
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let pattern = Array(pattern.unicodeScalars)
        let text = Array(text.unicodeScalars)
        var (p, t) = (0, 0)
        var star: Int?
        var resume = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || (pattern[p] != "*" && pattern[p] == text[t]) {
                p += 1
                t += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                resume = t
                p += 1
            } else if let star {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
