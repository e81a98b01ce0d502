import Foundation
import GRDB
import GRDBSQLite

/// Copies the write-ahead log back into the database file from a connection of its own, when the
/// writer's log has grown past SQLite's usual threshold, so that the writer does not.
///
/// SQLite's own checkpoint runs inside the commit that takes the log past its threshold, on the
/// single writer: accepts, claims and settlements then wait while thousands of pages are copied and
/// the file is synced. Here the writer's commit hook only wakes this connection, whose passive
/// checkpoint needs none of the writer's locks, so commits go on meanwhile. The log is copied as
/// often as SQLite would copy it (every `threshold` pages), and not at all while nothing is
/// written. Durability is untouched: a commit is on disk once its log frames are synced, whenever
/// they are copied back. For a log this connection cannot keep up with, the writer still copies it
/// itself past `writerThreshold`.
///
/// Runs as long as a store holds it: the store's copies share it, and the last one gone stops it.
final class SQLiteCheckpointer: Sendable {
    /// Pages in the log that wake the checkpointer (SQLite's own threshold).
    static let threshold: CInt = 1_000
    /// Pages in the log past which the writer copies it itself, as SQLite would at its threshold.
    static let writerThreshold: CInt = 10_000
    /// The least time between two checkpoints, for a log whose copy a reader holds back.
    static let pause = Duration.milliseconds(50)

    /// What the writer's hook wakes the checkpointer through.
    final class Wake: Sendable {
        let stream: AsyncStream<Void>
        let continuation: AsyncStream<Void>.Continuation

        init() {
            (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        }

        /// Installs the hook SQLite calls after each commit on `db`, a writing connection.
        ///
        /// The hook outlives any owner Swift could name (SQLite offers no destructor for it), so it
        /// holds the wake for the life of the process: a few bytes a store opened.
        func hook(_ db: Database) {
            let context = Unmanaged.passRetained(self).toOpaque()
            sqlite3_wal_hook(db.sqliteConnection, { context, connection, name, pages in
                if pages >= SQLiteCheckpointer.writerThreshold {
                    // As SQLite's own hook does: a passive checkpoint, whose failure is not the commit's.
                    _ = sqlite3_wal_checkpoint(connection, name)
                } else if pages >= SQLiteCheckpointer.threshold, let context {
                    Unmanaged<Wake>.fromOpaque(context).takeUnretainedValue().continuation.yield()
                }
                return SQLITE_OK
            }, context)
        }
    }

    private let task: Task<Void, Never>

    init(path: String, wake: Wake) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        task = Task.detached(priority: .utility) {
            for await _ in wake.stream {
                // A failure (a full disk, say) leaves the log as it is; the next commit wakes this again.
                _ = try? await connection.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)")
                }
                do {
                    try await Task.sleep(for: Self.pause)
                } catch {
                    return
                }
            }
        }
    }

    deinit {
        task.cancel()
    }
}
