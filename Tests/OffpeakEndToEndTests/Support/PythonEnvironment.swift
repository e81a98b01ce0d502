import Foundation

/// The virtualenv the Python clients run in, made on first use under `.build/test-venv`.
actor PythonEnvironment {
    static let shared = PythonEnvironment()
    /// Keep in step with `.ci/run`, which makes the same virtualenv first.
    static let packages = ["openai", "anthropic", "standardwebhooks", "selenium", "schemathesis"]

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    private var ready: URL?

    /// The venv's python, with the packages installed.
    func python() throws -> URL {
        if let ready { return ready }
        let venv = Self.packageRoot.appendingPathComponent(".build/test-venv")
        let python = venv.appendingPathComponent("bin/python")
        let marker = venv.appendingPathComponent(".offpeak-ready")
        // The marker names the packages installed, so that a package added later is installed too.
        let wanted = Self.packages.joined(separator: " ")
        let installed = (try? String(contentsOf: marker, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        if installed != wanted {
            try Self.run("/usr/bin/env", ["python3", "-m", "venv", venv.path])
            try Self.run(python.path, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + Self.packages)
            _ = FileManager.default.createFile(atPath: marker.path, contents: Data((wanted + "\n").utf8))
        }
        ready = python
        return python
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) failed:\n\(text.suffix(3000))")
        }
        return text
    }

    /// Runs a program the virtualenv installed (`schemathesis`), off the cooperative pool; what it printed.
    nonisolated func runTool(_ name: String, _ arguments: [String]) async throws -> String {
        let tool = try await python().deletingLastPathComponent().appendingPathComponent(name)
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.run(tool.path, arguments) })
            }
        }
    }

    /// Runs one of the scripts in `Tests/OffpeakEndToEndTests/Python` and reads its JSON output.
    nonisolated func runScript(_ name: String, _ arguments: [String]) async throws -> [String: Any] {
        let script = Self.packageRoot.appendingPathComponent("Tests/OffpeakEndToEndTests/Python/\(name)")
        let python = try await python()
        // Off the cooperative pool: the script blocks its thread until the gateway has answered.
        let text = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.run(python.path, [script.path] + arguments) })
            }
        }
        guard let line = text.split(separator: "\n").last,
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw Failure(description: "\(name) printed no JSON: \(text)") }
        return object
    }
}
