import NIOCore
import OffpeakCore
import PostgresNIO

/// The values of many rows for a list of `StoredColumns`, one array per column plus one of null
/// flags (and, for changes, one of keep flags), fed to a statement through `unnest`: one round
/// trip for a whole group of rows, whatever columns Core names.
struct ColumnArrays {
    let columns: StoredColumns
    private var texts: [Int: [String]] = [:]
    private var integers: [Int: [Int]] = [:]
    private var reals: [Int: [Double]] = [:]
    private var nulls: [[Bool]]
    private var keeps: [[Bool]]

    init(_ columns: StoredColumns) {
        self.columns = columns
        nulls = Array(repeating: [], count: columns.names.count)
        keeps = Array(repeating: [], count: columns.names.count)
    }

    /// One row; nil keeps the row's value (for an UPDATE).
    mutating func append(_ values: [StoredValue?]) {
        for (index, value) in values.enumerated() {
            keeps[index].append(value == nil)
            switch (columns.kinds[index], value) {
            case (.text, .text(let text)?):
                texts[index, default: []].append(text ?? "")
                nulls[index].append(text == nil)
            case (.integer, .integer(let number)?):
                integers[index, default: []].append(number ?? 0)
                nulls[index].append(number == nil)
            case (.real, .real(let number)?):
                reals[index, default: []].append(number ?? 0)
                nulls[index].append(number == nil)
            case (.text, _):
                texts[index, default: []].append("")
                nulls[index].append(true)
            case (.integer, _):
                integers[index, default: []].append(0)
                nulls[index].append(true)
            case (.real, _):
                reals[index, default: []].append(0)
                nulls[index].append(true)
            }
        }
    }

    /// Binds the arrays; returns the `unnest` arguments and the names they take (`name`,
    /// `name__null`, and `name__keep` when `keeps`).
    func bind(into binds: inout PostgresBindings, keeps withKeeps: Bool) -> (arguments: [String], names: [String]) {
        var arguments: [String] = []
        var names: [String] = []
        for (index, name) in columns.names.enumerated() {
            switch columns.kinds[index] {
            case .text:
                binds.append(texts[index] ?? [])
                arguments.append("$\(binds.count)::TEXT[]")
            case .integer:
                binds.append(integers[index] ?? [])
                arguments.append("$\(binds.count)::BIGINT[]")
            case .real:
                binds.append(reals[index] ?? [])
                arguments.append("$\(binds.count)::DOUBLE PRECISION[]")
            }
            names.append(name)
            binds.append(nulls[index])
            arguments.append("$\(binds.count)::BOOLEAN[]")
            names.append("\(name)__null")
            if withKeeps {
                binds.append(keeps[index])
                arguments.append("$\(binds.count)::BOOLEAN[]")
                names.append("\(name)__keep")
            }
        }
        return (arguments, names)
    }

    /// The value of `name` in the row `alias`, NULL where the flag says so.
    static func value(_ name: String, in alias: String) -> String {
        "CASE WHEN \(alias).\(name)__null THEN NULL ELSE \(alias).\(name) END"
    }
}
