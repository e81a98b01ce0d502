import Foundation

/// Runs a program to its end; its standard output, or an error with what it printed. Output goes
/// through a file, not a pipe: a server the program starts may keep a pipe open after it exits.
func runCommand(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-command-\(UUID().uuidString)").path
    FileManager.default.createFile(atPath: outputPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: outputPath) }
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try output.close()
    let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    guard process.terminationStatus == 0 else {
        throw CommandFailed(description: "\(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)")
    }
    return text
}

struct CommandFailed: Error, CustomStringConvertible {
    let description: String
}

/// A filesystem of `megabytes` made for a test (tmpfs, which needs root) that the test can fill.
final class SmallFilesystem: Sendable {
    let path: String

    static var available: Bool { getuid() == 0 }

    init(megabytes: Int) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-fs-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        _ = try runCommand(["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path])
    }

    var filler: String { path + "/filler" }

    /// Writes a file until the filesystem has no room left.
    func fill() {
        FileManager.default.createFile(atPath: filler, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: filler) else { return }
        defer { try? handle.close() }
        let chunk = Data(count: 64 * 1024)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        let byte = Data(count: 512)
        while (try? handle.write(contentsOf: byte)) != nil {}
    }

    func free() throws {
        try FileManager.default.removeItem(atPath: filler)
    }

    deinit {
        _ = try? runCommand(["umount", "-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A PostgreSQL server of a test's own (beside the shared one), which the test stops and starts.
final class OwnPostgres: Sendable {
    let state: String
    let port: Int
    let url: String

    static var script: String { PythonEnvironment.packageRoot.appendingPathComponent("Tests/Support/postgres").path }

    init() throws {
        state = "/tmp/offpeak-own-postgres-\(UUID().uuidString.prefix(8))"
        port = Int.random(in: 54400...54899)
        let exported = try runCommand(
            [Self.script, "start"], environment: ["OFFPEAK_TEST_POSTGRES_STATE": state, "OFFPEAK_TEST_POSTGRES_PORT": String(port)])
        url = String(exported.split(separator: "=", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private var environment: [String: String] {
        ["OFFPEAK_TEST_POSTGRES_STATE": state, "OFFPEAK_TEST_POSTGRES_PORT": String(port)]
    }

    func halt() throws { _ = try runCommand([Self.script, "halt"], environment: environment) }
    func resume() throws { _ = try runCommand([Self.script, "resume"], environment: environment) }

    deinit {
        _ = try? runCommand([Self.script, "stop"], environment: environment)
    }
}
