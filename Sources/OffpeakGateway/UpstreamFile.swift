import Foundation
import OffpeakCore
import Yams

/// Reads the `upstreams` section of the config file (the same file as the policies):
/// ```yaml
/// upstreams:
///   - name: dashscope
///     kind: openai                     # openai | anthropic
///     url: https://dashscope-intl.aliyuncs.com/compatible-mode/v1
///     api_key_env: DASHSCOPE_API_KEY   # the variable holding the key, never the key
///     models: ["qwen-*", "text-embedding-v4"]
///     completion_window: 72h
///     max_lines: 50000                 # also max_bytes, max_line_bytes
///     flex: false
///     poll_interval: 60                # seconds between polls of its batches (default OFFPEAK_POLL_INTERVAL)
/// ```
/// Each key is read from the variable the entry names. An invalid section is refused as a whole,
/// naming the entry and the field (`UpstreamRules`).
public enum UpstreamFile {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    static let entryKeys: Set<String> = [
        "name", "kind", "url", "api_key_env", "models", "completion_window", "max_lines", "max_bytes", "max_line_bytes", "flex",
        "poll_interval",
    ]

    public static func load(path: String) throws -> [Upstream]? {
        try parse(try ConfigFileText.read(path), source: path)
    }

    /// The upstreams `text` lists, or nil when it has no `upstreams` section.
    public static func parse(
        _ text: String, source: String = "the config file", environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [Upstream]? {
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw Invalid(description: "\(source) is not valid YAML or JSON: \(error)")
        }
        guard let section = (root as? [String: Any])?["upstreams"] else { return nil }
        guard let list = section as? [Any] else { throw Invalid(description: "\(source): `upstreams` must be a list") }
        let upstreams = try list.enumerated().map { index, item in try entry(item, index: index, source: source, environment: environment) }
        do {
            try UpstreamRules.check(upstreams)
        } catch {
            throw Invalid(description: "\(source): \(error.description)")
        }
        return upstreams
    }

    static func entry(_ item: Any, index: Int, source: String, environment: [String: String]) throws -> Upstream {
        var label = "\(source): upstream \(index + 1)"
        func fail(_ message: String) -> Invalid { Invalid(description: "\(label): \(message)") }
        guard let fields = item as? [String: Any] else { throw fail("must be a mapping") }
        guard let name = fields["name"] as? String, !name.isEmpty else { throw fail("`name` must be a non-empty string") }
        label += " (\(name))"
        for key in fields.keys where !entryKeys.contains(key) { throw fail("unknown field `\(key)`") }
        var kind = Upstream.Kind.openai
        if let value = fields["kind"] {
            guard let text = value as? String, let parsed = Upstream.Kind(rawValue: text) else {
                throw fail("`kind` must be openai or anthropic, not '\(value)'")
            }
            kind = parsed
        }
        guard let url = fields["url"] as? String else { throw fail("`url` is required") }
        guard let keyEnv = fields["api_key_env"] as? String, !keyEnv.isEmpty else {
            throw fail("`api_key_env` must name the variable that holds the key")
        }
        guard let models = fields["models"] as? [Any], models.allSatisfy({ $0 is String }) else {
            throw fail("`models` must be a list of globs")
        }
        func count(_ key: String, _ fallback: Int) throws -> Int {
            guard let value = fields[key] else { return fallback }
            guard let number = value as? Int else { throw fail("`\(key)` must be a whole number") }
            return number
        }
        let defaults = Upstream.Limits.defaults(for: kind)
        let limits = Upstream.Limits(
            maxLines: try count("max_lines", defaults.maxLines), maxBytes: try count("max_bytes", defaults.maxBytes),
            maxLineBytes: try count("max_line_bytes", defaults.maxLineBytes))
        var window: String?
        if let value = fields["completion_window"] {
            guard let text = value as? String else { throw fail("`completion_window` must be a string such as 24h") }
            window = text
        } else if kind == .openai {
            window = "24h"
        }
        var flex = false
        if let value = fields["flex"] {
            guard let bool = value as? Bool else { throw fail("`flex` must be true or false") }
            flex = bool
        }
        var pollInterval: Double?
        if let value = fields["poll_interval"] {
            guard let seconds = (value as? Double) ?? (value as? Int).map(Double.init), seconds > 0, seconds.isFinite else {
                throw fail("`poll_interval` must be a positive number of seconds")
            }
            pollInterval = seconds
        }
        var upstream = Upstream(
            name: name, kind: kind, url: url, apiKeyEnv: keyEnv, apiKey: environment[keyEnv] ?? "",
            models: models.compactMap { $0 as? String }, completionWindow: window, limits: limits, flex: flex, pollInterval: pollInterval)
        // `Upstream.init` drops a window for Anthropic; a window given there is refused by name instead.
        if kind == .anthropic, fields["completion_window"] != nil { upstream.completionWindow = window }
        return upstream
    }
}
