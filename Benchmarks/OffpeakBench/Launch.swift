import Foundation
import Synchronization

/// The release `offpeak` binary beside this one, run as a child on a port of its choosing.
final class Child: Sendable {
    let port: Int
    private let process: Process

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("offpeak")
    }

    init(_ arguments: [String], environment: [String: String] = [:]) async throws {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OFFPEAK_") }
        env["OFFPEAK_LOG_LEVEL"] = "warning"
        env.merge(environment) { $1 }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        let seen = Mutex("")
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil } else { seen.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(30)
        while true {
            let text = seen.withLock { $0 }
            if let range = text.range(of: "listening on http://") {
                let rest = text[range.upperBound...]
                let afterColon = rest[rest.index(after: rest.lastIndex(of: ":", before: rest.firstIndex(of: "\n") ?? rest.endIndex))...]
                if let port = Int(afterColon.prefix(while: \.isNumber)) {
                    self.port = port
                    return
                }
            }
            guard process.isRunning, Date() < deadline else { throw BenchFailure("offpeak \(arguments[0]) did not start") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    var pid: Int32 { process.processIdentifier }
    var url: String { "http://127.0.0.1:\(port)" }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

extension Substring {
    func lastIndex(of character: Character, before end: Index) -> Index {
        self[startIndex..<end].lastIndex(of: character) ?? startIndex
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A deferred chat request of about 1 KB, as the stages send it.
enum Bodies {
    static let text = String(repeating: "Summarise the customer's message and label its urgency. ", count: 16)

    static func chat(model: String = "qwen-plus", index: Int = 0, maxTokens: Int = 200) -> [UInt8] {
        let system = #"{"role":"system","content":"You are a careful support assistant."}"#
        let user = "{\"role\":\"user\",\"content\":\"\(index) \(text)\"}"
        let limit = maxTokens > 0 ? ",\"max_tokens\":\(maxTokens)" : ""
        return Array("{\"model\":\"\(model)\",\"messages\":[\(system),\(user)],\"temperature\":0.2\(limit)}".utf8)
    }
}
