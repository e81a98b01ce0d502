import Foundation
import Synchronization

/// The `offpeak` binary run as a child process (`serve` or `simulate`), on a port of its choosing.
final class OffpeakProcess: Sendable {
    /// Runs the `offpeak` binary to completion, with only the given `OFFPEAK_*` settings: its exit
    /// status and what it printed (standard error too, unless `errors` is false).
    static func runToEnd(_ arguments: [String], environment: [String: String] = [:], errors: Bool = true) throws
        -> (status: Int32, output: String)
    {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OFFPEAK_") }.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = errors ? pipe : FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    struct StartFailure: Error, CustomStringConvertible {
        let description: String
    }

    let port: Int
    let logFile: URL
    private let process: Process
    private let output: OutputBuffer

    /// The binary next to the test bundle (`.build/debug/offpeak`), or `OFFPEAK_BINARY`.
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["OFFPEAK_BINARY"] { return URL(fileURLWithPath: path) }
        var folder = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("offpeak")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("offpeak")
    }

    /// The binary must have been built from the sources under test (`swift build` before `swift test`).
    static let staleness: String? = {
        let fileManager = FileManager.default
        guard let built = (try? fileManager.attributesOfItem(atPath: binary.path))?[.modificationDate] as? Date else {
            return "no offpeak binary at \(binary.path): run `swift build` before `swift test`"
        }
        let sources = PythonEnvironment.packageRoot.appendingPathComponent("Sources")
        let newest = fileManager.enumerator(at: sources, includingPropertiesForKeys: [.contentModificationDateKey])?
            .compactMap { ($0 as? URL).flatMap { try? $0.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate } }
            .max()
        if let newest, newest > built {
            return "the offpeak binary is older than its sources: run `swift build` before `swift test`"
        }
        return nil
    }()

    /// Starts the process and waits until it says which port it listens on.
    init(
        arguments: [String], environment: [String: String] = [:], name: String, timeout: Double = 30,
        executable: URL? = nil
    ) async throws {
        if executable == nil, let staleness = Self.staleness { throw StartFailure(description: staleness) }
        let process = Process()
        process.executableURL = executable ?? Self.binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OFFPEAK_") }
        env["OFFPEAK_LOG_LEVEL"] = env["OFFPEAK_TEST_LOG_LEVEL"] ?? "info"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-test-\(name)-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: logFile)
        let pipe = Pipe()
        process.standardOutput = pipe
        let output = OutputBuffer()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil } else { output.append(data) }
        }
        try process.run()
        self.process = process
        self.output = output
        self.logFile = logFile
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let port = output.listeningPort() {
                self.port = port
                return
            }
            guard process.isRunning, Date() < deadline else {
                let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
                process.terminate()
                throw StartFailure(description: "offpeak \(arguments.first ?? "") did not start: \(output.text)\n\(log.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.processIdentifier }
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// SIGKILL: no chance to flush or clean up. Returns once the process is gone.
    ///
    /// Not `waitUntilExit()`: Foundation learns of a child's exit from SIGCHLD, and with many
    /// children starting and ending at once it once missed one, which stayed a zombie while the
    /// test waited for it for good. The kernel's word (`/proc`) is taken as well.
    func kill() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        Foundation.kill(pid, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && !Self.hasExited(pid) && Date() < deadline { usleep(5_000) }
    }

    /// True once `pid` has ended: no longer in `/proc`, or a zombie waiting to be reaped.
    static func hasExited(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.range(of: ") ", options: .backwards)
        else { return true }
        return stat[afterName.upperBound...].first == "Z"
    }

    /// SIGTERM, then the exit status once it has stopped (or nil after `timeout`).
    func terminate(timeout: Double = 30) async -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
        try? FileManager.default.removeItem(at: logFile)
    }
}

/// What a child printed on standard output.
final class OutputBuffer: Sendable {
    private let storage = Mutex(Data())

    func append(_ data: Data) {
        storage.withLock { $0.append(data) }
    }

    var text: String {
        storage.withLock { String(decoding: $0, as: UTF8.self) }
    }

    /// The port of a line `… listening on http://HOST:PORT…`.
    func listeningPort() -> Int? {
        for line in text.split(separator: "\n") {
            guard let range = line.range(of: "listening on http://") else { continue }
            let rest = line[range.upperBound...]
            guard let colon = rest.lastIndex(of: ":") else { continue }
            let digits = rest[rest.index(after: colon)...].prefix(while: \.isNumber)
            if let port = Int(digits) { return port }
        }
        return nil
    }
}
