import Foundation

/// What an upstream entry must be to be served, checked before the gateway starts: each rule
/// names the entry and the field it refuses.
public enum UpstreamRules {
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String

        public init(_ description: String) {
            self.description = description
        }
    }

    /// Checks the list as a whole: names unique, each entry valid, no glob shadowed by an earlier
    /// one (it could never match).
    public static func check(_ upstreams: [Upstream]) throws(Invalid) {
        guard !upstreams.isEmpty else { throw Invalid("`upstreams` must list at least one upstream") }
        var names = Set<String>()
        for (index, upstream) in upstreams.enumerated() {
            let label = "upstream \(index + 1) (\(upstream.name))"
            guard names.insert(upstream.name).inserted else { throw Invalid("\(label): the name is used by an earlier upstream") }
            try check(upstream, label: label)
            for glob in upstream.models {
                for earlier in upstreams[..<index] {
                    if let covering = earlier.models.first(where: { covers($0, glob) }) {
                        throw Invalid(
                            "\(label): `models` glob `\(glob)` can never match: upstream \(earlier.name) takes every model it names (`\(covering)`)")
                    }
                }
            }
        }
    }

    static func check(_ upstream: Upstream, label: String) throws(Invalid) {
        guard upstream.name.range(of: "^[a-z0-9-]+$", options: .regularExpression) != nil else {
            throw Invalid("\(label): `name` must be lowercase letters, digits and hyphens")
        }
        guard let url = URL(string: upstream.url), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw Invalid("\(label): `url` must be an http(s) URL, not '\(upstream.url)'")
        }
        guard !upstream.apiKey.isEmpty else {
            throw Invalid("\(label): `api_key_env` names \(upstream.apiKeyEnv.map { "$\($0)" } ?? "a variable"), which is not set or empty")
        }
        guard !upstream.models.isEmpty else { throw Invalid("\(label): `models` must list at least one glob") }
        if let empty = upstream.models.first(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw Invalid("\(label): `models` glob '\(empty)' can never match a model")
        }
        let limits = upstream.limits
        let most = Upstream.Limits.defaults(for: upstream.kind)
        guard (1...most.maxLines).contains(limits.maxLines) else {
            throw Invalid("\(label): `max_lines` must be 1 to \(most.maxLines)")
        }
        guard (1...most.maxBytes).contains(limits.maxBytes) else {
            throw Invalid("\(label): `max_bytes` must be 1 to \(most.maxBytes)")
        }
        guard (1...min(most.maxLineBytes, limits.maxBytes)).contains(limits.maxLineBytes) else {
            throw Invalid("\(label): `max_line_bytes` must be 1 to \(min(most.maxLineBytes, limits.maxBytes))")
        }
        try checkWindow(upstream, label: label)
        if upstream.flex, upstream.kind != .openai {
            throw Invalid("\(label): `flex` is sold on OpenAI-compatible upstreams only")
        }
    }

    /// The windows a provider takes: DashScope 24h to 336h, OpenAI 24h only; another
    /// OpenAI-compatible service, a whole number of hours from 24 to 336 (sent as given).
    /// Anthropic's Message Batches have no window.
    public static func checkWindow(_ upstream: Upstream, label: String) throws(Invalid) {
        guard upstream.kind == .openai else {
            if upstream.completionWindow != nil { throw Invalid("\(label): `completion_window` is not taken by Anthropic's Message Batches") }
            return
        }
        guard let window = upstream.completionWindow else { throw Invalid("\(label): `completion_window` is required") }
        let host = URL(string: upstream.url)?.host?.lowercased() ?? ""
        let allowed: ClosedRange<Int> = host == "api.openai.com" ? 24...24 : 24...336
        guard window.hasSuffix("h"), let hours = Int(window.dropLast()), allowed.contains(hours) else {
            let provider = host == "api.openai.com" ? "OpenAI takes only 24h" : host.contains("dashscope") ? "DashScope takes 24h to 336h" : "use 24h to 336h"
            throw Invalid("\(label): `completion_window` '\(window)' is not a window this provider takes (\(provider))")
        }
    }

    /// Whether glob `earlier` matches every model `later` could: the same glob, `*`, or a prefix
    /// glob (`qwen-*`) over a later glob that starts with the same fixed text.
    static func covers(_ earlier: String, _ later: String) -> Bool {
        if earlier == later || earlier == "*" { return true }
        guard earlier.hasSuffix("*") else { return false }
        let prefix = earlier.dropLast()
        guard !prefix.contains("*"), !prefix.contains("?") else { return false }
        let fixed = later.prefix { $0 != "*" && $0 != "?" }
        return fixed.hasPrefix(prefix)
    }
}
