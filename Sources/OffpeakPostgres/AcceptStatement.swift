import NIOCore
import OffpeakCore
import PostgresNIO

/// The INSERT of a group of accepts, prepared once per connection. Sent as an unnamed statement,
/// PostgreSQL parsed, analysed and planned its 77 parameters again for every group: a fifth of the
/// server's CPU per accept. Prepared, it is planned once and its generic plan reused.
struct AcceptStatement: PostgresPreparedStatement {
    typealias Row = String

    static let name = "offpeak_accept"

    /// The rows' columns as arrays (`ColumnArrays`), then their bodies; each row inserted in the
    /// order given, and none whose idempotency key is taken. Returns the ids inserted.
    static let sql: String = {
        var scratch = PostgresBindings()
        let (arguments, names) = ColumnArrays(RequestColumns.accepted).bind(into: &scratch, keeps: false)
        let columnList = RequestColumns.accepted.names.joined(separator: ", ")
        let values = RequestColumns.accepted.names.map { ColumnArrays.value($0, in: "u") }.joined(separator: ", ")
        return """
            INSERT INTO deferred_requests (\(columnList), body)
            SELECT \(values), u.body
            FROM unnest(\(arguments.joined(separator: ", ")), $\(scratch.count + 1)::BYTEA[]) WITH ORDINALITY
                AS u(\(names.joined(separator: ", ")), body, position)
            ORDER BY u.position
            ON CONFLICT (owner, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING id
            """
    }()

    private let bindings: PostgresBindings

    init(_ group: [NewDeferredRequest]) {
        var columns = ColumnArrays(RequestColumns.accepted)
        var bodies: [ByteBuffer] = []
        bodies.reserveCapacity(group.count)
        for new in group {
            columns.append(new.storedValues)
            bodies.append(ByteBuffer(bytes: new.body))
        }
        var binds = PostgresBindings()
        _ = columns.bind(into: &binds, keeps: false)
        binds.append(bodies)
        bindings = binds
    }

    func makeBindings() throws -> PostgresBindings { bindings }

    func decodeRow(_ row: PostgresRow) throws -> String { try row.decode(String.self) }
}
