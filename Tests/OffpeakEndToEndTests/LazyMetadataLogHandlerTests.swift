import Logging
import Synchronization
import Testing

@testable import Offpeak

/// The gateway's log handler writes the lines swift-log's stream handler writes, metadata included,
/// though it formats the metadata only when a line is written.
@Suite struct LazyMetadataLogHandlerTests {
    @Test func linesAreTheStreamHandlersLines() {
        let plain = Lines()
        let lazy = Lines()
        var loggers = [
            Logger(label: "gateway") { StreamLogHandler(label: $0, stream: plain) },
            Logger(label: "gateway") { LazyMetadataLogHandler(StreamLogHandler(label: $0, stream: lazy)) },
        ]
        for index in loggers.indices {
            loggers[index][metadataKey: "hb.request.id"] = "r-1"
            loggers[index][metadataKey: "batch"] = "bat_1"
            loggers[index].logLevel = .info
            loggers[index].debug("below the level")
            loggers[index].info("flushing group", metadata: ["batch": "bat_2", "requests": "4"])
            loggers[index][metadataKey: "batch"] = nil
            loggers[index].warning("no metadata of its own")
        }
        #expect(lazy.withoutTimestamps.count == 2)
        #expect(lazy.withoutTimestamps == plain.withoutTimestamps)
        #expect(lazy.withoutTimestamps.first == "info gateway: batch=bat_2 hb.request.id=r-1 requests=4 [OffpeakEndToEndTests] flushing group")
    }
}

/// A stream that keeps what it is given.
private final class Lines: TextOutputStream, Sendable {
    private let text = Mutex("")

    func write(_ string: String) {
        text.withLock { $0 += string }
    }

    /// Each line without its timestamp (the first field).
    var withoutTimestamps: [String] {
        text.withLock { $0 }.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1).last.map(String.init) ?? "" }
    }
}
