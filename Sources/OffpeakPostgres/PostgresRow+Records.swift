import NIOCore
import OffpeakCore
import PostgresNIO

/// A postgres-nio row read through the domain's one mapping of columns (`OffpeakCore/Store/StoredRows.swift`).
struct PostgresStoredRow: StoredRow {
    let cells: PostgresRandomAccessRow

    init(_ row: PostgresRow) {
        cells = row.makeRandomAccess()
    }

    func text(_ column: String) throws -> String? {
        cells.contains(column) ? try cells[column].decode(String?.self) : nil
    }

    func integer(_ column: String) throws -> Int? {
        cells.contains(column) ? try cells[column].decode(Int?.self) : nil
    }

    func real(_ column: String) throws -> Double? {
        cells.contains(column) ? try cells[column].decode(Double?.self) : nil
    }

    func blob(_ column: String) throws -> [UInt8]? {
        cells.contains(column) ? try cells[column].decode(ByteBuffer?.self).map { Array(buffer: $0) } : nil
    }
}

let requestColumns = RequestColumns.select()
let batchColumns = BatchColumns.select

extension PostgresRow {
    func column<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try makeRandomAccess()[name].decode(T.self)
    }
}

extension DeferredRequest {
    init(_ row: PostgresRow) throws { try self.init(row: PostgresStoredRow(row)) }
}

extension BatchRecord {
    init(_ row: PostgresRow) throws { try self.init(row: PostgresStoredRow(row)) }
}
