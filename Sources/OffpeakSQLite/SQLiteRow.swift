import Foundation
import GRDB
import OffpeakCore

/// A GRDB row read through the domain's one mapping of columns (`OffpeakCore/Store/StoredRows.swift`).
///
/// Columns are found through a map of the row's names made once: GRDB finds a fetched row's column
/// by name by lowercasing every name before it until one matches, so reading a request's 38
/// columns by name lowercased some 700 strings (most of the dispatcher's claim).
struct SQLiteRow: StoredRow {
    let row: Row
    private let indexes: [String: Int]

    init(row: Row) {
        self.row = row
        var indexes: [String: Int] = [:]
        indexes.reserveCapacity(row.count)
        for (index, name) in row.columnNames.enumerated() where indexes[name] == nil {
            indexes[name] = index
        }
        self.indexes = indexes
    }

    /// The column's value, found by its exact name; otherwise by GRDB's own lookup (any case).
    private func value<Value: DatabaseValueConvertible>(_ column: String) -> Value? {
        if let index = indexes[column] { return row[index] }
        return row[column]
    }

    func text(_ column: String) throws -> String? { value(column) }
    func integer(_ column: String) throws -> Int? { value(column) }
    func real(_ column: String) throws -> Double? { value(column) }
    func blob(_ column: String) throws -> [UInt8]? { (value(column) as Data?).map(Array.init) }
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

extension Statement {
    /// Binds `values` to the statement's parameters in order, for its next run without arguments
    /// (`execute()`, `Row.fetchOne(statement)`).
    ///
    /// The hot paths (an accept, a finish, a usage record) bind this way: GRDB's
    /// `StatementArguments` initializers are generic over the values' sequence and run
    /// unspecialized, converting each value through a key path made for every call, which cost
    /// more than the statements they bound on the settle's path. Here each value is bound as it is.
    func bind(_ values: some Sequence<DatabaseValue>) throws {
        // Resets the statement, clears its bindings and marks its arguments as set.
        setUncheckedArguments(StatementArguments())
        var index: CInt = 1
        for value in values {
            let code = value.bind(to: sqliteStatement, at: index)
            guard code == 0 else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "could not bind parameter \(index)", sql: sql)
            }
            index += 1
        }
    }
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
