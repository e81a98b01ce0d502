import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// What `offpeak demo` shows a newcomer: a plain call, a streamed call, then deferred calls
/// queued, batched, polled and answered, and the gateway's own report of what they cost.
struct DemoScript {
    let client: HTTPClient
    let requests: Int

    /// Two models the shipped price table knows.
    static let models = ["qwen-plus", "qwen-turbo"]

    func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    func run(gateway: String, simulator: String) async throws {
        say("Offpeak demo")
        say("  simulated provider  \(simulator)/v1")
        say("  gateway             \(gateway)/v1   (store: a fresh SQLite file)\n")

        say("1. A call without 'Prefer: respond-async' passes straight through:")
        let plain = try await post(gateway + "/v1/chat/completions", body: chatBody("qwen-plus", "What is batch inference?"))
        say("   \(plain.status) → \(answerText(plain.body) ?? "?")\n")

        say("2. A streamed call is relayed chunk by chunk:")
        FileHandle.standardOutput.write(Data("   ".utf8))
        var streamRequest = HTTPClientRequest(url: gateway + "/v1/chat/completions")
        streamRequest.method = .POST
        streamRequest.headers.add(name: "Content-Type", value: "application/json")
        streamRequest.body = .bytes(ByteBuffer(bytes: chatBody("qwen-turbo", "Stream me a short answer", stream: true)))
        let stream = try await client.execute(streamRequest, timeout: .seconds(30))
        var chunks = 0
        for try await buffer in stream.body {
            for line in String(buffer: buffer).split(separator: "\n") where line.hasPrefix("data: {") {
                chunks += 1
                if let data = line.dropFirst(6).data(using: .utf8),
                    let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                    let choice = (object["choices"] as? [[String: Any]])?.first,
                    let delta = choice["delta"] as? [String: Any], let text = delta["content"] as? String
                {
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
            }
        }
        say("\n   (\(chunks) chunks)\n")

        say("3. \(requests) calls with 'Prefer: respond-async' are committed and answered 202 at once:")
        var ids: [String] = []
        let started = Date()
        for index in 0..<requests {
            let model = Self.models[index % Self.models.count]
            let answer = try await post(
                gateway + "/v1/chat/completions", body: chatBody(model, "Summarise support ticket number \(index + 1) in one line"),
                headers: ["Prefer": "respond-async"])
            guard answer.status == 202, let object = json(answer.body), let id = object["id"] as? String else {
                throw DemoFailure(message: "a deferred call was answered \(answer.status)")
            }
            ids.append(id)
        }
        say("   \(ids.count) accepted in \(String(format: "%.2f", Date().timeIntervalSince(started))) s, e.g. \(ids[0])\n")

        say("4. Offpeak groups them per model into batch files, submits them and polls the provider:")
        var last = ""
        let deadline = Date().addingTimeInterval(120)
        while true {
            let list = try await get(gateway + "/v1/deferred?limit=100")
            let data = (json(list.body)?["data"] as? [[String: Any]]) ?? []
            var counts: [String: Int] = [:]
            var batches = Set<String>()
            for item in data {
                counts[item["status"] as? String ?? "?", default: 0] += 1
                if let batch = item["batch"] as? [String: Any], let upstream = batch["upstream_id"] as? String { batches.insert(upstream) }
            }
            let line = ["queued", "submitted", "completed", "failed"].map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: "  ")
                + "   upstream batches seen: \(batches.count)"
            if line != last {
                say("   [\(String(format: "%5.1f", Date().timeIntervalSince(started))) s] \(line)")
                last = line
            }
            if (counts["completed"] ?? 0) + (counts["failed"] ?? 0) >= ids.count { break }
            guard Date() < deadline else { throw DemoFailure(message: "the deferred requests did not finish within 2 minutes") }
            try await Task.sleep(for: .milliseconds(250))
        }

        say("\n5. Each result is fetched by the id the 202 gave:")
        for id in ids.prefix(2) {
            let result = try await get(gateway + "/v1/deferred/\(id)/result")
            say("   GET /v1/deferred/\(id)/result → \(result.status): \(answerText(result.body) ?? "?")")
        }

        say("\n6. What it all cost, from the gateway's own ledger (GET /v1/usage?group_by=model,lane):")
        let report = try await get(gateway + "/v1/usage?group_by=model,lane")
        guard report.status == 200, let object = json(report.body) else {
            throw DemoFailure(message: "the usage report was answered \(report.status)")
        }
        let currency = object["currency"] as? String ?? ""
        say("   " + Self.reportLine(["model", "lane", "requests", "in tokens", "out tokens", "billed", "list price", "saved"]))
        for row in (object["data"] as? [[String: Any]]) ?? [] {
            say("   " + Self.reportLine(Self.reportCells(row, label: [row["model"], row["lane"]])))
        }
        if let totals = object["totals"] as? [String: Any] {
            say("   " + Self.reportLine(Self.reportCells(totals, label: ["total", ""])))
        }
        say("   (\(currency); the passthrough calls of steps 1–2 are the real-time lane, billed at the list price)")
        say("\nDone. Point your app at the gateway and add 'Prefer: respond-async' to calls that can wait.")
    }

    static func reportCells(_ row: [String: Any], label: [Any?]) -> [String] {
        let money = { (name: String) in String(format: "%.6f", (row[name] as? NSNumber)?.doubleValue ?? 0) }
        return label.map { "\($0 ?? "")" } + [
            "\(row["requests"] as? Int ?? 0)", "\(row["prompt_tokens"] as? Int ?? 0)", "\(row["completion_tokens"] as? Int ?? 0)",
            money("billed"), money("at_list_price"), money("saved"),
        ]
    }

    static func reportLine(_ cells: [String]) -> String {
        let widths = [11, 9, 9, 10, 11, 10, 11, 10]
        return zip(cells, widths).enumerated().map { index, cell in
            index < 2 ? cell.0.padding(toLength: cell.1, withPad: " ", startingAt: 0)
                : String(repeating: " ", count: max(0, cell.1 - cell.0.count)) + cell.0
        }.joined(separator: " ")
    }

    private func chatBody(_ model: String, _ text: String, stream: Bool = false) -> [UInt8] {
        var object: [String: Any] = ["model": model, "messages": [["role": "user", "content": text]]]
        if stream {
            object["stream"] = true
            object["stream_options"] = ["include_usage": true]
        }
        return Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data())
    }

    private func post(_ url: String, body: [UInt8], headers: [String: String] = [:]) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), Array(buffer: try await response.body.collect(upTo: 8 << 20)))
    }

    private func get(_ url: String) async throws -> (status: Int, body: [UInt8]) {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        return (Int(response.status.code), Array(buffer: try await response.body.collect(upTo: 8 << 20)))
    }

    private func json(_ bytes: [UInt8]) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
    }

    private func answerText(_ bytes: [UInt8]) -> String? {
        guard let object = json(bytes), let choice = (object["choices"] as? [[String: Any]])?.first,
            let message = choice["message"] as? [String: Any]
        else { return nil }
        return message["content"] as? String
    }
}
