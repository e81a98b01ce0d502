// The accept baseline: the least a durable accept can cost on this machine. A bare Hummingbird POST
// handler that reads the body and (mode `db`) commits it to SQLite through a minimal group commit
// (GRDB, WAL, `synchronous=FULL`) before answering 202; mode `nodb` answers without a store.
// Offpeak's accepts are measured against it in the same run (Benchmarks/run), with the same wrk
// script (`post.lua`), so that the ratio holds on any machine. The handler and the commit are the
// reference probe's, reformatted only; the port and the database file are arguments.
//
//     offpeak-accept-baseline db|nodb [port] [database path]
import Foundation
import GRDB
import Hummingbird
import NIOCore

actor GroupCommit {
    let db: DatabaseQueue
    var pending: [(String, Data, CheckedContinuation<Void, Never>)] = []
    var running = false
    init(db: DatabaseQueue) { self.db = db }
    func submit(_ id: String, _ body: Data) async {
        await withCheckedContinuation { c in
            pending.append((id, body, c))
            if !running {
                running = true
                Task { await self.drain() }
            }
        }
    }
    func drain() async {
        while !pending.isEmpty {
            let batch = pending
            pending = []
            let db = self.db
            try? await db.write { d in
                for (id, body, _) in batch { try d.execute(sql: "INSERT INTO req(id, body) VALUES (?, ?)", arguments: [id, body]) }
            }
            for (_, _, c) in batch { c.resume() }
        }
        running = false
    }
}

let arguments = CommandLine.arguments
let mode = arguments.count > 1 ? arguments[1] : "db"
let port = arguments.count > 2 ? Int(arguments[2]) ?? 8099 : 8099
let path =
    arguments.count > 3
    ? arguments[3] : FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-accept-baseline.sqlite").path
var config = Configuration()
config.journalMode = .wal
for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
let dbq = try DatabaseQueue(path: path, configuration: config)
// After the queue is made: GRDB's WAL set-up lowers `synchronous` to NORMAL once `prepareDatabase`
// has run, and a commit would then reach the disk only at a checkpoint.
try dbq.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous=FULL") }
try await dbq.write { try $0.execute(sql: "CREATE TABLE req(id TEXT PRIMARY KEY, body BLOB)") }
let gc = GroupCommit(db: dbq)
let router = Router()
router.post("/v1/chat/completions") { req, ctx -> Response in
    let buf = try await req.body.collect(upTo: 8 << 20)
    let data = Data(buffer: buf)
    let id = UUID().uuidString
    if mode == "db" { await gc.submit(id, data) }
    var out = ByteBuffer()
    out.writeString("{\"id\":\"dfr_\(id)\",\"object\":\"deferred_request\",\"status\":\"queued\"}")
    return Response(status: .accepted, headers: [.contentType: "application/json"], body: .init(byteBuffer: out))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
