import Foundation
import GRDB
import OffpeakCore

/// A GRDB row read through the domain's one mapping of columns (`OffpeakCore/Store/StoredRows.swift`).
struct SQLiteRow: StoredRow {
    let row: Row

    func text(_ column: String) throws -> String? { row[column] }
    func integer(_ column: String) throws -> Int? { row[column] }
    func real(_ column: String) throws -> Double? { row[column] }
    func blob(_ column: String) throws -> [UInt8]? { (row[column] as Data?).map(Array.init) }
}

/// The select list of a request: bodies live in tables of their own.
let requestColumns = RequestColumns.select(
    responseBody: "(SELECT body FROM response_bodies WHERE response_bodies.seq = deferred_requests.seq)")

extension DeferredRequest {
    init(sqlite row: Row) throws { try self.init(row: SQLiteRow(row: row)) }
}

extension BatchRecord {
    init(sqlite row: Row) throws { try self.init(row: SQLiteRow(row: row)) }
}

extension StoredValue {
    /// As GRDB binds it.
    var databaseValue: DatabaseValue {
        switch self {
        case .text(let value): value.databaseValue
        case .integer(let value): value.databaseValue
        case .real(let value): value.databaseValue
        }
    }
}
