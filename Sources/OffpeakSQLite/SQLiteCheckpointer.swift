import Foundation
import GRDB

/// Copies the write-ahead log back into the database file from a connection of its own, a few
/// times a second, so that the writer does not.
///
/// SQLite's own checkpoint runs inside the commit that takes the log past its threshold, on the
/// single writer: accepts, claims and settlements then wait while thousands of pages are copied and
/// the file is synced. A passive checkpoint on another connection needs none of the writer's locks,
/// so commits go on meanwhile. Durability is untouched: a commit is on disk once its log frames are
/// synced, whenever they are copied back. The writer keeps a checkpoint of its own at a high
/// threshold (`writerThreshold`), for a log this one cannot keep up with.
///
/// Runs as long as a store holds it: the store's copies share it, and the last one gone stops it.
final class SQLiteCheckpointer: Sendable {
    /// The writer's own checkpoint, in pages of the log (SQLite's default is 1,000).
    static let writerThreshold = 10_000
    /// The pause between two checkpoints while the log grows, and the longest pause while it does not.
    static let busyPause = Duration.milliseconds(50)
    static let idlePause = Duration.milliseconds(500)

    private let task: Task<Void, Never>

    init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        task = Task.detached(priority: .utility) {
            await Self.run(on: connection)
        }
    }

    deinit {
        task.cancel()
    }

    private static func run(on connection: DatabaseQueue) async {
        var pause = busyPause
        var last: (log: Int, copied: Int)?
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: pause)
            } catch {
                return
            }
            // The log's frames, and how many of them are in the database file now. A failure (a
            // full disk, say) leaves the log as it is, and the next round tries again.
            let frames = try? await connection.writeWithoutTransaction { db in
                try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)").map { (log: $0[1] as Int, copied: $0[2] as Int) }
            }
            // A log that has not changed since the last round (nothing written, or a reader holding
            // the copy back) lets the pause grow to `idlePause`; the first change brings it back.
            if let frames, frames.log != last?.log || frames.copied != last?.copied {
                pause = busyPause
            } else {
                pause = min(pause * 2, idlePause)
            }
            last = frames ?? last
        }
    }
}
