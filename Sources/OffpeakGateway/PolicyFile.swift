import Foundation
import OffpeakCore
import Yams

/// Reads the operator's deferral policies from a YAML file (JSON is YAML too):
/// ```yaml
/// policies:
///   - name: nightly-evals
///     match: {keys: ["key-eval"], models: ["qwen-*"], paths: ["/v1/chat/completions"], headers: {x-job: eval}}
///     action: defer
///     hold: 3600
///     deadline: 1800
///     fallback: when-queued
///     stream: replay
///     undeferrable: reject
/// ```
/// An invalid file is refused as a whole, naming the rule and the field at fault.
public enum PolicyFile {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public static func load(path: String) throws -> DeferralPolicies {
        try parse(try ConfigFileText.read(path), source: path)
    }

    public static func parse(_ text: String, source: String = "the policy file") throws -> DeferralPolicies {
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw Invalid(description: "\(source) is not valid YAML or JSON: \(error)")
        }
        guard let document = root as? [String: Any] else {
            throw Invalid(description: "\(source) must be a mapping with a `policies` list")
        }
        for key in document.keys where !topLevelKeys.contains(key) {
            throw Invalid(description: "\(source): unknown top-level key `\(key)` (policies, prices and upstreams are read)")
        }
        // The prices are read by `PriceFile`, which keeps the order of their globs.
        guard let list = (document["policies"] ?? [Any]()) as? [Any] else {
            throw Invalid(description: "\(source): `policies` must be a list of rules")
        }
        var names = Set<String>()
        var rules: [DeferralRule] = []
        for (index, item) in list.enumerated() {
            let rule = try Self.rule(item, index: index)
            guard names.insert(rule.name).inserted else {
                throw Invalid(description: "rule \(index + 1) (\(rule.name)): the name is used by an earlier rule")
            }
            rules.append(rule)
        }
        return DeferralPolicies(rules: rules)
    }

    static let topLevelKeys: Set<String> = ["policies", "prices", "upstreams"]
    static let ruleKeys: Set<String> = ["name", "match", "action", "hold", "deadline", "fallback", "stream", "undeferrable"]
    static let matchKeys: Set<String> = ["keys", "models", "paths", "headers"]

    static func rule(_ item: Any, index: Int) throws -> DeferralRule {
        var label = "rule \(index + 1)"
        func fail(_ message: String) -> Invalid { Invalid(description: "\(label): \(message)") }
        guard let fields = item as? [String: Any] else { throw fail("must be a mapping") }
        guard let name = fields["name"] as? String, !name.isEmpty else { throw fail("`name` must be a non-empty string") }
        label += " (\(name))"
        for key in fields.keys where !ruleKeys.contains(key) { throw fail("unknown field `\(key)`") }
        guard let actionText = fields["action"] as? String, let action = DeferralRule.Action(rawValue: actionText) else {
            throw fail("`action` must be defer, flex or passthrough")
        }
        let match = fields["match"] ?? [String: Any]()
        guard let match = match as? [String: Any] else { throw fail("`match` must be a mapping") }
        for key in match.keys where !matchKeys.contains(key) { throw fail("unknown match field `\(key)`") }
        func strings(_ key: String) throws -> [String]? {
            guard let value = match[key] else { return nil }
            guard let list = value as? [Any], !list.isEmpty, list.allSatisfy({ $0 is String }) else {
                throw fail("`match.\(key)` must be a non-empty list of strings")
            }
            return list.compactMap { $0 as? String }
        }
        var headers: [String: String]?
        if let value = match["headers"] {
            guard let mapping = value as? [String: Any], !mapping.isEmpty else {
                throw fail("`match.headers` must map header names to values")
            }
            headers = try mapping.mapValues { value in
                guard let text = value as? String ?? (value as? any CustomStringConvertible)?.description else {
                    throw fail("`match.headers` values must be strings")
                }
                return text
            }
        }
        func seconds(_ key: String) throws -> Double? {
            guard let value = fields[key] else { return nil }
            guard let number = (value as? Double) ?? (value as? Int).map(Double.init), number > 0, number.isFinite else {
                throw fail("`\(key)` must be a positive number of seconds")
            }
            return number
        }
        let hold = try seconds("hold") ?? 3600
        let deadline = try seconds("deadline")
        if let deadline, deadline > hold { throw fail("`deadline` (\(deadline) s) is after `hold` (\(hold) s): it could never apply") }
        var fallback = DeferralRule.Fallback.whenQueued
        if let value = fields["fallback"] {
            guard let text = value as? String, let parsed = DeferralRule.Fallback(rawValue: text) else {
                throw fail("`fallback` must be when-queued, always or never")
            }
            fallback = parsed
        }
        var stream = DeferralRule.StreamMode.replay
        if let value = fields["stream"] {
            guard let text = value as? String, let parsed = DeferralRule.StreamMode(rawValue: text) else {
                throw fail("`stream` must be replay or passthrough")
            }
            stream = parsed
        }
        var undeferrable = DeferralRule.Undeferrable.reject
        if let value = fields["undeferrable"] {
            guard let text = value as? String, let parsed = DeferralRule.Undeferrable(rawValue: text) else {
                throw fail("`undeferrable` must be reject or passthrough")
            }
            undeferrable = parsed
        }
        return DeferralRule(
            name: name, keys: try strings("keys"), models: try strings("models"), paths: try strings("paths"), headers: headers,
            action: action, hold: hold, deadline: deadline, fallback: fallback, stream: stream,
            undeferrable: undeferrable)
    }

    /// The rules as one line each, for the start-up log and `offpeak policies`.
    public static func describe(_ policies: DeferralPolicies) -> [String] {
        policies.rules.enumerated().map { index, rule in
            var match: [String] = []
            if let keys = rule.keys { match.append("keys=\(keys.count) key(s)") }
            if let models = rule.models { match.append("models=\(models.joined(separator: ","))") }
            if let paths = rule.paths { match.append("paths=\(paths.joined(separator: ","))") }
            if let headers = rule.headers {
                match.append("headers=" + headers.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ","))
            }
            var line = "\(index + 1). \(rule.name): \(match.isEmpty ? "any call" : match.joined(separator: " ")) → \(rule.action.rawValue)"
            if rule.action == .defer {
                line += " hold=\(Int(rule.hold))s"
                if let deadline = rule.deadline { line += " deadline=\(Int(deadline))s fallback=\(rule.fallback.rawValue)" }
                line += " stream=\(rule.stream.rawValue) undeferrable=\(rule.undeferrable.rawValue)"
            }
            return line
        }
    }
}
