import Foundation
import GRDB
import OffpeakCore

/// A GRDB row read through the domain's one mapping of columns (`OffpeakCore/Store/StoredRows.swift`).
///
/// Columns are found through a map of the statement's names made once (`Layout`): GRDB finds a
/// fetched row's column by name by lowercasing every name before it until one matches, so reading
/// a request's 38 columns by name lowercased some 700 strings (most of the dispatcher's claim).
/// Values are read by index through GRDB's `StatementColumnConvertible` path, straight from SQLite.
struct SQLiteRow: StoredRow {
    let row: Row
    private let layout: Layout

    /// Where each named column of a statement's rows is (the leftmost of a name used twice).
    final class Layout: Sendable {
        let indexes: [String: Int]

        init(_ names: [String]) {
            var indexes: [String: Int] = [:]
            indexes.reserveCapacity(names.count)
            for (index, name) in names.enumerated() where indexes[name] == nil {
                indexes[name] = index
            }
            self.indexes = indexes
        }
    }

    /// One row on its own: its names are mapped for it alone.
    init(row: Row) {
        self.init(row: row, layout: Layout(Array(row.columnNames)))
    }

    init(row: Row, layout: Layout) {
        self.row = row
        self.layout = layout
    }

    func text(_ column: String) throws -> String? {
        guard let index = layout.indexes[column] else { return row[column] }
        return row[index]
    }

    func integer(_ column: String) throws -> Int? {
        guard let index = layout.indexes[column] else { return row[column] }
        return row[index]
    }

    func real(_ column: String) throws -> Double? {
        guard let index = layout.indexes[column] else { return row[column] }
        return row[index]
    }

    func blob(_ column: String) throws -> [UInt8]? {
        guard let index = layout.indexes[column] else { return (row[column] as Data?).map(Array.init) }
        return (row[index] as Data?).map(Array.init)
    }

    /// Every row of `statement`, each read by `read` where SQLite holds it (a cursor's row, not a
    /// copy), with the columns found once for all of them.
    static func all<T>(_ statement: Statement, arguments: StatementArguments, _ read: (SQLiteRow) throws -> T) throws -> [T] {
        let layout = Layout(statement.columnNames)
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        var values: [T] = []
        while let row = try cursor.next() {
            values.append(try read(SQLiteRow(row: row, layout: layout)))
        }
        return values
    }
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
