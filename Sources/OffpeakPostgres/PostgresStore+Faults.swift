import NIOCore
import NIOPosix
import OffpeakCore
import PostgresNIO

/// PostgreSQL's errors that mean the database cannot take writes now.
extension PostgresStore {
    public func fault(_ error: any Error) -> StoreFault? {
        if let fault = error as? StoreFault { return fault }
        if let error = error as? PostgresTransactionError {
            // The first statement that failed says why.
            return [error.beginError, error.closureError, error.commitError].lazy.compactMap { $0 }.first.flatMap(fault)
        }
        // The pool's own errors (its circuit breaker open) come from a module it does not export.
        if error is NIOConnectionError || error is IOError || error is ChannelError
            || String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError")
        {
            return StoreFault(.unreachable, String(describing: error))
        }
        guard let error = error as? PSQLError else { return nil }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed, .sslUnsupported,
            .failedToAddSSLHandler:
            return StoreFault(.unreachable, "PostgreSQL connection: \(error.code)")
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let detail = "PostgreSQL \(state): \(error.serverInfo?[.message] ?? "")"
            switch state {
            case "53100": return StoreFault(.diskFull, detail)
            case "25006": return StoreFault(.readOnly, detail)
            case "58030": return StoreFault(.ioError, detail)
            case "57P01", "57P02", "57P03", "53300": return StoreFault(.unreachable, detail)
            default: return state.hasPrefix("08") ? StoreFault(.unreachable, detail) : nil
            }
        default:
            return nil
        }
    }
}
