import Foundation
import OffpeakTestSupport
import Testing

/// `offpeak demo` shows a newcomer the whole path and exits 0.
@Suite struct DemoTests {
    @Test func theDemoRunsTheWholePathAndExitsCleanly() async throws {
        if let staleness = OffpeakProcess.staleness { Issue.record(Comment(rawValue: staleness)); return }
        let process = Process()
        process.executableURL = OffpeakProcess.binary
        process.arguments = ["demo", "--requests", "12", "--batch-delay", "0.5"]
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OFFPEAK_") }
        let output = Pipe()
        let buffer = OutputBuffer()
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil } else { buffer.append(data) }
        }
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await eventually("the demo to finish", within: 120) { !process.isRunning }
        #expect(process.terminationStatus == 0, "\(buffer.text)")
        try await eventually("the demo's output", within: 30) { buffer.text.contains("Done.") }
        let text = buffer.text
        #expect(text.contains("12 accepted"))
        #expect(text.contains("completed 12"))
        #expect(text.contains("→ 200"))
        // The gateway's own report: the twelve deferred calls in the batch lane, the two passthrough calls in real time.
        #expect(text.contains("GET /v1/usage"))
        let batchRequests = text.split(separator: "\n").filter { $0.contains(" batch ") }
            .compactMap { line in line.split(separator: " ").dropFirst(2).first.flatMap { Int($0) } }
        #expect(batchRequests.reduce(0, +) == 12, "\(text)")
        #expect(text.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("total") && $0.contains(" 14 ") })
    }
}
