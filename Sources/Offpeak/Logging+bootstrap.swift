import Foundation
import Logging

enum LogSetup {
    /// Logs go to standard error; standard output carries the lines meant for people and scripts.
    static func bootstrap(level: String?) -> Logger.Level {
        let level = Logger.Level(rawValue: (level ?? ProcessInfo.processInfo.environment["OFFPEAK_LOG_LEVEL"] ?? "info").lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = LazyMetadataLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        return level
    }

    /// A line for whoever started the process (the chosen port, say), flushed at once.
    static func announce(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
