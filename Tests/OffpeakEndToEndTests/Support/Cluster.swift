import Foundation
import OffpeakTestSupport
import Synchronization

/// A simulator process and a gateway process in front of it, with a database file of their own.
final class Cluster: Sendable {
    let simulator: OffpeakProcess
    let database: String
    let environment: [String: String]
    private let gatewayBox: GatewayBox

    var gateway: OffpeakProcess { gatewayBox.current }
    var v1: String { gateway.url + "/v1" }
    var upstream: String { simulator.url + "/v1" }

    /// Small thresholds so that batches flush and end within a second or two.
    static let fastSettings: [String: String] = [
        "OFFPEAK_FLUSH_MAX_REQUESTS": "15",
        "OFFPEAK_FLUSH_MAX_AGE": "0.5",
        "OFFPEAK_POLL_INTERVAL": "0.2",
        "OFFPEAK_LEASE": "2",
        // The tests read batches' input files back from the simulator.
        "OFFPEAK_KEEP_UPSTREAM_FILES": "true",
    ]

    /// `config`, given the simulator's base URL (ending in /v1), writes the gateway's config file.
    init(
        name: String, batchDelay: Double = 0.5, simulatorArguments: [String] = [], gateway settings: [String: String] = [:],
        config: ((String) -> String)? = nil
    ) async throws {
        simulator = try await OffpeakProcess(
            arguments: ["simulate", "--port", "0", "--batch-delay", String(batchDelay), "--api-key", "sk-upstream"]
                + simulatorArguments,
            name: "\(name)-simulator")
        database = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-\(name)-\(UUID().uuidString).sqlite").path
        var environment = Self.fastSettings
        environment["OFFPEAK_UPSTREAM_URL"] = simulator.url + "/v1"
        environment["OFFPEAK_UPSTREAM_API_KEY"] = "sk-upstream"
        environment["OFFPEAK_DATABASE"] = database
        for (key, value) in settings { environment[key] = value }
        if let config {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-\(name)-\(UUID().uuidString).yaml").path
            try config(simulator.url + "/v1").write(toFile: path, atomically: true, encoding: .utf8)
            environment["OFFPEAK_CONFIG"] = path
        }
        self.environment = environment
        gatewayBox = GatewayBox(try await OffpeakProcess(arguments: ["serve", "--port", "0"], environment: environment, name: "\(name)-gateway"))
    }

    /// Starts a new gateway process on the same database (after a kill, say).
    func restartGateway() async throws {
        gatewayBox.current.kill()
        gatewayBox.replace(try await OffpeakProcess(arguments: ["serve", "--port", "0"], environment: environment, name: "gateway-restarted"))
    }

    /// Removes the database, and the config file when it lies in the temporary folder (the tests
    /// write theirs there, for this cluster alone).
    deinit {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        if let config = environment["OFFPEAK_CONFIG"], config.hasPrefix(FileManager.default.temporaryDirectory.path) {
            try? FileManager.default.removeItem(atPath: config)
        }
    }

    // MARK: Conveniences

    func deferred(_ body: [String: Any], key: String? = nil, headers: [(String, String)] = []) async throws -> TestHTTP.Answer {
        var all = [("Prefer", "respond-async")] + headers
        if let key { all.append(("Authorization", "Bearer \(key)")) }
        return try await TestHTTP.post(v1 + "/chat/completions", json: body, headers: all)
    }

    func object(_ id: String, key: String? = nil) async throws -> [String: Any]? {
        try await TestHTTP.get(v1 + "/deferred/\(id)", headers: key.map { [("Authorization", "Bearer \($0)")] } ?? []).json
    }

    /// How many of this key's requests are in `status`, counted through the list API.
    func count(status: String, key: String? = nil) async throws -> Int {
        try await listed(status: status, key: key).count
    }

    /// This key's requests in `status`, read through the list API a page at a time.
    func listed(status: String, key: String? = nil) async throws -> [[String: Any]] {
        var objects: [[String: Any]] = []
        var after: String?
        repeat {
            let page = try await TestHTTP.get(
                v1 + "/deferred?limit=100&status=\(status)" + (after.map { "&after=\($0)" } ?? ""),
                headers: key.map { [("Authorization", "Bearer \($0)")] } ?? []).json ?? [:]
            let data = page["data"] as? [[String: Any]] ?? []
            objects += data
            after = (page["has_more"] as? Bool == true) ? data.last?["id"] as? String : nil
        } while after != nil
        return objects
    }

    /// Sends `count` deferred chat calls, 8 at a time, cycling through `models`; their ids.
    func sendMany(count: Int, models: [String]) async throws -> [String] {
        try await withThrowingTaskGroup(of: String.self) { group in
            var ids: [String] = []
            var next = 0
            func add() {
                let index = next
                next += 1
                group.addTask {
                    let answer = try await self.deferred(chatBody(model: models[index % models.count], "request \(index)"))
                    guard answer.status == 202, let id = answer.json?["id"] as? String else {
                        throw Timeout(description: "request \(index) was answered \(answer.status)")
                    }
                    return id
                }
            }
            for _ in 0..<min(8, count) { add() }
            while let id = try await group.next() {
                ids.append(id)
                if next < count { add() }
            }
            return ids
        }
    }

    /// Waits until every id is terminal; returns their objects. Should time run out, the error
    /// says where the unfinished requests stand.
    func waitTerminal(_ ids: [String], key: String? = nil, within seconds: Double = 90) async throws -> [String: [String: Any]] {
        var objects: [String: [String: Any]] = [:]
        do {
            try await eventually("\(ids.count) requests to finish", within: seconds) {
                for id in ids where objects[id] == nil {
                    if let object = try await object(id, key: key), let status = object["status"] as? String,
                        ["completed", "failed", "cancelled"].contains(status)
                    {
                        objects[id] = object
                    }
                }
                return objects.count == ids.count
            }
        } catch let timeout as Timeout {
            let unfinished = ids.filter { objects[$0] == nil }
            throw Timeout(description: "\(timeout.description): \(unfinished.count) unfinished; " + (await whereAre(unfinished)))
        }
        return objects
    }

    /// Where these requests stand, by the operator API (open on loopback without operator keys):
    /// how many are in each status, the traces of a few, and the batches the gateway knows.
    func whereAre(_ ids: [String]) async -> String {
        var statuses: [String: Int] = [:]
        var traces: [String] = []
        for id in ids {
            let request = try? await TestHTTP.get(gateway.url + "/admin/v1/requests/\(id)").json
            let status = request?["status"] as? String ?? "not found"
            statuses[status, default: 0] += 1
            if traces.count < 3, let request {
                traces.append("\(id) \(status) batch=\(request["batch"] ?? "none") attempts=\(request["attempts"] ?? "?") trace=\(request["trace"] ?? [])")
            }
        }
        let batches = (try? await TestHTTP.get(gateway.url + "/admin/v1/batches?limit=100").json?["data"] as? [[String: Any]]) ?? []
        let described = batches.map { "\($0["id"] ?? "?") \($0["status"] ?? "?") upstream=\($0["upstream_id"] ?? "none") total=\($0["total"] ?? "?")" }
        return "statuses \(statuses); \(traces.joined(separator: "; ")); batches: \(described.joined(separator: ", "))"
    }

    /// Every batch the simulator was given, with the custom_ids and models of its input file.
    /// The simulator's batches with their input and output file ids.
    func upstreamBatchIDs() async throws -> [(input: String?, output: String?)] {
        let page = try await TestHTTP.get(upstream + "/batches?limit=100", headers: [("Authorization", "Bearer sk-upstream")]).json ?? [:]
        return (page["data"] as? [[String: Any]] ?? []).map { ($0["input_file_id"] as? String, $0["output_file_id"] as? String) }
    }

    func upstreamBatches() async throws -> [UpstreamBatchFile] {
        try await OffpeakEndToEndTests.upstreamBatches(upstream)
    }
}

typealias UpstreamBatchFile = (
    id: String, status: String, customIDs: [String], models: Set<String>, name: String, endpoint: String, urls: Set<String>,
    window: String
)

/// Every batch a simulator (`upstream`: its base URL ending in /v1) was given, with the custom_ids
/// and models of its input file, and the name it carries for the provider's console.
func upstreamBatches(_ upstream: String, key: String = "sk-upstream") async throws -> [UpstreamBatchFile] {
    let headers = [("Authorization", "Bearer \(key)")]
    var result: [UpstreamBatchFile] = []
    var after: String?
    repeat {
        let page = try await TestHTTP.get(upstream + "/batches?limit=100" + (after.map { "&after=\($0)" } ?? ""), headers: headers).json ?? [:]
        let data = page["data"] as? [[String: Any]] ?? []
        for batch in data {
            let file = batch["input_file_id"] as? String ?? ""
            let content = try await TestHTTP.get(upstream + "/files/\(file)/content", headers: headers)
            var ids: [String] = []
            var models = Set<String>()
            var urls = Set<String>()
            for line in content.text.split(separator: "\n") {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
                ids.append(object["custom_id"] as? String ?? "")
                urls.insert(object["url"] as? String ?? "")
                models.insert(((object["body"] as? [String: Any])?["model"] as? String) ?? "")
            }
            let name = (batch["metadata"] as? [String: Any])?["ds_name"] as? String ?? ""
            result.append(
                (
                    batch["id"] as? String ?? "", batch["status"] as? String ?? "", ids, models, name, batch["endpoint"] as? String ?? "",
                    urls, batch["completion_window"] as? String ?? ""
                ))
        }
        after = (page["has_more"] as? Bool == true) ? data.last?["id"] as? String : nil
    } while after != nil
    return result
}

final class GatewayBox: Sendable {
    private let process: Mutex<OffpeakProcess>

    init(_ process: OffpeakProcess) {
        self.process = Mutex(process)
    }

    var current: OffpeakProcess {
        process.withLock { $0 }
    }

    func replace(_ new: OffpeakProcess) {
        process.withLock { $0 = new }
    }
}
