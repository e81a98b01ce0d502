import GRDB
import OffpeakCore

/// SQLite's result codes that mean the file cannot take writes now.
extension SQLiteStore {
    public func fault(_ error: any Error) -> StoreFault? {
        if let fault = error as? StoreFault { return fault }
        guard let error = error as? DatabaseError else { return nil }
        let kind: StoreFault.Kind
        switch error.resultCode {
        case .SQLITE_FULL: kind = .diskFull
        case .SQLITE_READONLY: kind = .readOnly
        case .SQLITE_IOERR, .SQLITE_CORRUPT, .SQLITE_NOTADB: kind = .ioError
        case .SQLITE_CANTOPEN: kind = .unreachable
        case .SQLITE_BUSY, .SQLITE_LOCKED: kind = .busy
        default: return nil
        }
        // The message only: the error's description carries the statement.
        return StoreFault(kind, "SQLite error \(error.extendedResultCode.rawValue): \(error.message ?? "")")
    }
}
