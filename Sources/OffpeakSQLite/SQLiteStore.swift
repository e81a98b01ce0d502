import CSQLiteSetup
import Foundation
import GRDB
import OffpeakCore

/// The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so that a commit
/// has reached the disk before the caller is told it happened; the log is copied back into the
/// file by a connection of its own (`SQLiteCheckpointer`).
public struct SQLiteStore: DeferredStore {
    let pool: DatabasePool
    private let accepts: GroupCommit<NewDeferredRequest, AcceptResult>
    /// Callback attempts recorded by many deliveries at once share a transaction and its fsync.
    let deliveryAttempts: GroupCommit<DeliveryAttempt, Void>
    private let groupCommit: Bool
    private let checkpointer: SQLiteCheckpointer

    /// SQLite's result code of setting its process-wide options when the program was loaded
    /// (`CSQLiteSetup`): no mutex per connection, no memory statistics. Both showed on the
    /// writer's profile (6.5% of its samples in mutex calls), and neither is needed: GRDB uses each
    /// connection from one thread at a time.
    static var processOptions: CInt { offpeak_sqlite_options_result() }

    /// Opens (creating if needed) the database at `path`; `migrate()` brings its schema up to date.
    /// `groupCommit: false` writes each accept in a transaction of its own: the naive design,
    /// kept as the benchmarks' baseline.
    public init(path: String, groupCommit: Bool = true) throws {
        self.groupCommit = groupCommit
        var configuration = Configuration()
        let wake = SQLiteCheckpointer.Wake()
        configuration.prepareDatabase { db in
            // The log is copied back by `SQLiteCheckpointer`, which the writer's commits wake.
            if !db.configuration.readonly { wake.hook(db) }
        }
        configuration.busyMode = .timeout(10)
        let pool = try DatabasePool(path: path, configuration: configuration)
        // Set here, not in `prepareDatabase`: once it has put the file in WAL mode, GRDB sets
        // `synchronous = NORMAL` on the pool's writer, after `prepareDatabase` has run, and a commit
        // then reaches the disk only at the next checkpoint. The writer is this connection for the
        // pool's life; readers write nothing.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        self.pool = pool
        checkpointer = try SQLiteCheckpointer(path: path, wake: wake)
        // All or nothing: any failure rolls the group back and fails every request in it (after a
        // full disk, say, SQLite may already have rolled the transaction back itself).
        accepts = GroupCommit { items in
            do {
                return try await pool.write { db in
                    try items.map { item in .success(try Self.accept(item, in: db)) }
                }
            } catch {
                return items.map { _ in .failure(error) }
            }
        }
        deliveryAttempts = GroupCommit { attempts in
            do {
                try await pool.write { db in
                    for attempt in attempts { try attempt.record(in: db) }
                }
                return attempts.map { _ in .success(()) }
            } catch {
                return attempts.map { _ in .failure(error) }
            }
        }
    }

    public func migrate() async throws {
        try SQLiteMigrations.migrator.migrate(pool)
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    // MARK: Intake and results

    public func accept(_ new: NewDeferredRequest) async throws -> AcceptResult {
        guard groupCommit else { return try await pool.write { db in try Self.accept(new, in: db) } }
        return try await accepts.submit(new)
    }

    /// One accept inside a group's transaction.
    static func accept(_ new: NewDeferredRequest, in db: Database) throws -> AcceptResult {
        let record = new.record
        if let key = record.idempotencyKey,
            let row = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT \(requestColumns) FROM deferred_requests WHERE owner = ? AND idempotency_key = ?"),
                arguments: [record.owner, key])
        {
            let existing = try DeferredRequest(sqlite: row)
            return existing.bodyDigest == record.bodyDigest ? .existing(existing) : .conflict(existing)
        }
        // A cached statement: compiling the SQL again for every request costs more than the insert.
        let insert = try db.cachedStatement(sql: insertRequest)
        try insert.bind(new.storedValues.lazy.map { $0.databaseValue })
        try insert.execute()
        try db.cachedStatement(sql: "INSERT INTO request_bodies (seq, body) VALUES (last_insert_rowid(), ?)")
            .execute(arguments: [Data(new.body)])
        return .created(record)
    }

    public func request(id: String, owner: String) async throws -> DeferredRequest? {
        try await pool.read { db in try Self.request(id: id, owner: owner, in: db) }
    }

    static func request(id: String, owner: String, in db: Database) throws -> DeferredRequest? {
        try Row.fetchOne(
            db, sql: "SELECT \(requestColumns) FROM deferred_requests WHERE id = ? AND owner = ?", arguments: [id, owner]
        ).map(DeferredRequest.init(sqlite:))
    }

    public func list(_ query: ListQuery) async throws -> ListPage {
        try await pool.read { db in
            var sql = "SELECT \(requestColumns) FROM deferred_requests WHERE owner = ?"
            var arguments: StatementArguments = [query.owner]
            if let status = query.status {
                sql += " AND status = ?"
                arguments += [status.rawValue]
            }
            if let model = query.model {
                sql += " AND model = ?"
                arguments += [model]
            }
            if let after = query.after {
                sql += " AND seq < COALESCE((SELECT seq FROM deferred_requests WHERE id = ? AND owner = ?), 0)"
                arguments += [after, query.owner]
            }
            sql += " ORDER BY seq DESC LIMIT ?"
            arguments += [query.limit + 1]
            let rows = try SQLiteRow.all(db.makeStatement(sql: sql), arguments: arguments, DeferredRequest.init(row:))
            return ListPage(data: Array(rows.prefix(query.limit)), hasMore: rows.count > query.limit)
        }
    }

    public func cancel(id: String, owner: String, now: Timestamp) async throws -> CancelResult {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE deferred_requests SET status = 'cancelled', completed_at = ?
                    WHERE id = ? AND owner = ? AND status = 'queued'
                    """,
                arguments: [now, id, owner])
            let changed = db.changesCount > 0
            guard let request = try Self.request(id: id, owner: owner, in: db) else { return .notFound }
            return changed ? .cancelled(request) : .notQueued(request)
        }
    }

    public func withdraw(id: String, now: Timestamp, reason: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE deferred_requests SET status = 'cancelled', completed_at = ?, served_by = 'realtime-fallback',
                        served_reason = ?
                    WHERE id = ? AND status = 'queued'
                    """,
                arguments: [now, reason, id])
            return db.changesCount > 0
        }
    }

    public func recordRealtimeAnswer(id: String, _ answer: RealtimeAnswer, now: Timestamp) async throws -> Bool {
        try await pool.write { db in
            switch answer {
            case .result(let finish):
                let withdrawn = Finishing(guard: "id = ? AND status = 'cancelled' AND served_by = 'realtime-fallback'")
                var ledger: [UsageRecord] = []
                if try withdrawn.apply(finish, id: id, now: now, guardArguments: [id.databaseValue], ledger: &ledger, in: db) {
                    try SQLiteLedger.append(ledger, in: db)
                    return true
                }
            case .noted(let finish):
                try db.execute(
                    sql: """
                        UPDATE deferred_requests SET served_by = 'realtime-fallback', served_reason = ?
                        WHERE id = ? AND status IN ('queued', 'submitted')
                        """,
                    arguments: [finish.servedReason, id])
                let noted = db.changesCount > 0
                try Finishing.recordAnyway(answer.finish, id: id, now: now, in: db)
                return noted
            }
            // The call was made even if the request did not take its answer.
            try Finishing.recordAnyway(answer.finish, id: id, now: now, in: db)
            return false
        }
    }
}

/// The statement that stores a new request (Core names its columns and values).
let insertRequest = """
    INSERT INTO deferred_requests (\(RequestColumns.accepted.names.joined(separator: ", ")))
    VALUES (\(RequestColumns.accepted.names.map { _ in "?" }.joined(separator: ", ")))
    """

/// The statements that end requests under one guard: the row found under the guard, then
/// written by its `seq`. (As one `UPDATE … RETURNING`, SQLite kept each run's returned row in a
/// temporary b-tree made for that run: a fifth of a finish's time.) A finish writes only the
/// columns Core changes; the `UPDATE` is made once per set of columns (most finishes write all but
/// one or two), so a row binds its values alone rather than a keep flag beside each. Run it in a
/// write transaction, which holds the row between the two statements.
final class Finishing {
    private let condition: String
    private var found: Statement?
    private var keepBody: Statement?
    private var updates: [Int: Statement] = [:]

    /// `condition` is the guard's SQL, its arguments given to `apply`.
    init(guard condition: String) {
        self.condition = condition
    }

    /// True when the guard held and the request ended; its response body is kept beside it, and
    /// its usage record added to `ledger` (for `SQLiteLedger.append`).
    func apply(
        _ finish: RequestFinish, id: String, now: Timestamp, guardArguments: [DatabaseValue], ledger: inout [UsageRecord],
        in db: Database
    ) throws -> Bool {
        // Each statement is looked up once per instance (a settle's chunk), not once per row.
        let found =
            try found ?? db.cachedStatement(sql: "SELECT seq, owner, upstream, model, endpoint FROM deferred_requests WHERE \(condition)")
        self.found = found
        try found.bind(guardArguments)
        // By position, in the order of the list: GRDB finds a column by name by lowercasing each
        // name before it, which showed on the settle's profile.
        guard let row = try Row.fetchOne(found) else {
            return false
        }
        let seq: Int64 = row[0]
        let changes = finish.storedChanges(now: now)
        var columns = 0
        var values: [DatabaseValue] = []
        values.reserveCapacity(changes.count + 1)
        for (index, change) in changes.enumerated() {
            guard let change else { continue }
            columns |= 1 << index
            values.append(change.databaseValue)
        }
        values.append(seq.databaseValue)
        let update = try update(writing: columns, in: db)
        try update.bind(values)
        try update.execute()
        if let body = finish.response?.body {
            let keepBody = try keepBody ?? db.cachedStatement(sql: "INSERT OR REPLACE INTO response_bodies (seq, body) VALUES (?, ?)")
            self.keepBody = keepBody
            try keepBody.bind([seq.databaseValue, Data(body).databaseValue])
            try keepBody.execute()
        }
        if let record = UsageRecord(
            requestID: id, owner: row[1], upstream: row[2], model: row[3], endpoint: row[4], finish: finish, now: now)
        {
            ledger.append(record)
        }
        return true
    }

    private func update(writing columns: Int, in db: Database) throws -> Statement {
        if let statement = updates[columns] { return statement }
        let assignments = RequestColumns.finished.names.enumerated().filter { columns & (1 << $0.offset) != 0 }.map { "\($0.element) = ?" }
        let statement = try db.cachedStatement(
            sql: "UPDATE deferred_requests SET \(assignments.joined(separator: ", ")) WHERE seq = ?")
        updates[columns] = statement
        return statement
    }

    /// The usage record of request `id` ended by `finish`, whatever state the request is in.
    static func recordAnyway(_ finish: RequestFinish, id: String, now: Timestamp, in db: Database) throws {
        guard
            let row = try Row.fetchOne(db, sql: "SELECT owner, upstream, model, endpoint FROM deferred_requests WHERE id = ?", arguments: [id])
        else { return }
        let record = UsageRecord(
            requestID: id, owner: row["owner"], upstream: row["upstream"], model: row["model"], endpoint: row["endpoint"], finish: finish,
            now: now)
        try SQLiteLedger.append(record.map { [$0] } ?? [], in: db)
    }
}
