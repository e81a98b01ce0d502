import OffpeakCore
import OffpeakGateway
import Testing

/// The `upstreams` section: read with each key from its variable, routed by model globs in order,
/// and refused as a whole, naming the entry and the field, when an entry cannot be served.
@Suite struct UpstreamFileTests {
    static let environment = ["DASHSCOPE_KEY": "sk-ds", "OPENAI_KEY": "sk-oa", "ANTHROPIC_KEY": "sk-an"]

    static let valid = """
        upstreams:
          - name: dashscope
            url: https://dashscope-intl.aliyuncs.com/compatible-mode/v1
            api_key_env: DASHSCOPE_KEY
            models: ["qwen-*", "text-embedding-v4"]
            completion_window: 72h
            max_lines: 20000
            poll_interval: 120
          - name: openai
            kind: openai
            url: https://api.openai.com/v1
            api_key_env: OPENAI_KEY
            models: ["gpt-*"]
            flex: true
          - name: anthropic
            kind: anthropic
            url: https://api.anthropic.com/v1
            api_key_env: ANTHROPIC_KEY
            models: ["claude-*"]
        """

    @Test func entriesAreReadAndRoutedInOrder() throws {
        let upstreams = try #require(try UpstreamFile.parse(Self.valid, environment: Self.environment))
        #expect(upstreams.map(\.name) == ["dashscope", "openai", "anthropic"])
        let dashscope = upstreams[0]
        #expect(dashscope.apiKey == "sk-ds" && dashscope.completionWindow == "72h" && dashscope.limits.maxLines == 20000)
        #expect(dashscope.limits.maxBytes == 500_000_000, "limits not given are the provider's")
        #expect(dashscope.pollInterval == 120 && upstreams[1].pollInterval == nil, "its own poll cadence, or the gateway's")
        #expect(upstreams[1].completionWindow == "24h" && upstreams[1].flex)
        #expect(upstreams[2].kind == .anthropic && upstreams[2].completionWindow == nil && upstreams[2].limits.maxLines == 100_000)
        let routes = UpstreamRoutes(upstreams)
        #expect(routes.route(model: "qwen-plus")?.name == "dashscope")
        #expect(routes.route(model: "text-embedding-v4")?.name == "dashscope")
        #expect(routes.route(model: "claude-sonnet-4")?.name == "anthropic")
        #expect(routes.route(model: "llama-3") == nil, "model_not_routed")
        #expect(!upstreams.map(\.description).joined().contains("sk-"), "a key is never described")
        #expect(try UpstreamFile.parse("policies: []\n", environment: [:]) == nil)
    }

    @Test(arguments: [
        ("kind: bedrock", "upstream 1 (one): `kind` must be openai or anthropic"),
        ("api_key_env: MISSING_KEY", "upstream 1 (one): `api_key_env` names $MISSING_KEY, which is not set or empty"),
        ("completion_window: 400h", "upstream 1 (one): `completion_window` '400h' is not a window this provider takes (DashScope takes 24h to 336h)"),
        ("max_lines: 60000", "upstream 1 (one): `max_lines` must be 1 to 50000"),
        ("colour: blue", "upstream 1 (one): unknown field `colour`"),
        ("poll_interval: 0", "upstream 1 (one): `poll_interval` must be a positive number of seconds"),
    ])
    func anEntryThatCannotBeServedIsRefusedByName(change: String, message: String) throws {
        let key = String(change.prefix { $0 != ":" })
        var lines = [
            "upstreams:", "  - name: one", "    url: https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "    api_key_env: DASHSCOPE_KEY",
            "    models: [\"qwen-*\"]",
        ].filter { !$0.hasPrefix("    \(key):") }
        lines.append("    " + change)
        let error = #expect(throws: UpstreamFile.Invalid.self) {
            try UpstreamFile.parse(lines.joined(separator: "\n"), environment: Self.environment)
        }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
    }

    @Test func theListIsRefusedForDuplicatesShadowedGlobsAndWindowsTheProviderRefuses() throws {
        func refusal(_ yaml: String) -> String {
            do {
                _ = try UpstreamFile.parse(yaml, environment: Self.environment)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        let entry = { (name: String, models: String) in
            "  - name: \(name)\n    url: https://dashscope-intl.aliyuncs.com/compatible-mode/v1\n    api_key_env: DASHSCOPE_KEY\n    models: \(models)\n"
        }
        #expect(refusal("upstreams:\n" + entry("a", #"["qwen-*"]"#) + entry("a", #"["gpt-*"]"#)).contains("upstream 2 (a): the name is used"))
        #expect(refusal("upstreams:\n" + entry("a", #"["qwen-*"]"#) + entry("b", #"["qwen-max"]"#)).contains(
            "upstream 2 (b): `models` glob `qwen-max` can never match: upstream a takes every model it names (`qwen-*`)"))
        #expect(refusal("upstreams:\n" + entry("a", #"["*"]"#) + entry("b", #"["claude-*"]"#)).contains("can never match"))
        #expect(refusal("upstreams:\n" + entry("a", #"["qwen-*"]"#) + entry("b", #"["qwen*"]"#)) == "accepted", "qwen* is wider than qwen-*")
        #expect(refusal("upstreams:\n" + entry("Bad Name", #"["x"]"#)).contains("`name` must be lowercase letters"))
        let openAI = "upstreams:\n  - name: o\n    url: https://api.openai.com/v1\n    api_key_env: OPENAI_KEY\n    models: [\"gpt-*\"]\n    completion_window: 48h\n"
        #expect(refusal(openAI).contains("OpenAI takes only 24h"))
        let anthropic = "upstreams:\n  - name: c\n    kind: anthropic\n    url: https://api.anthropic.com/v1\n    api_key_env: ANTHROPIC_KEY\n    models: [\"claude-*\"]\n    completion_window: 24h\n"
        #expect(refusal(anthropic).contains("not taken by Anthropic"))
        let flex = "upstreams:\n  - name: c\n    kind: anthropic\n    url: https://api.anthropic.com/v1\n    api_key_env: ANTHROPIC_KEY\n    models: [\"claude-*\"]\n    flex: true\n"
        #expect(refusal(flex).contains("`flex` is sold on OpenAI-compatible upstreams only"))
    }
}
