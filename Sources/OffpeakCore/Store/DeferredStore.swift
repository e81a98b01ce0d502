import ServiceLifecycle

/// Everything the gateway keeps, as the roles that use it see it. A store backend (SQLite,
/// PostgreSQL, memory) implements each role; it persists what `OffpeakCore` has decided and
/// applies each transition atomically, guarded on the state Core expects, so that a rule is
/// written once, here, and never in a SQL dialect.
///
/// - `RequestStore`: intake and results (the HTTP front).
/// - `BatchQueue`: queued requests becoming batches (the flusher).
/// - `LiveBatches`: batches upstream, polled and settled (the poller).
/// - `DeliveryQueue`: callbacks due (the dispatcher).
/// - `UsageLedger`: what each ended call used and cost, and the report over it.
/// - `QueueControl`: groups paused and resumed by the operator.
/// - `OperatorViews`: batches and requests as the operator lists and looks them up.
/// - `SettingsStore`: values kept once (the webhook secret).
/// - `KeyValueStore`: values with an expiry (the console's sessions).
/// - `StoreLifecycle`: schema, readiness, the faults its driver reports (`StoreFaults`), and what
///   must run while the store is in use.
public typealias DeferredStore = RequestStore & BatchQueue & LiveBatches & DeliveryQueue & UsageLedger & QueueControl
    & OperatorViews & SettingsStore & KeyValueStore & StoreLifecycle

/// A store's life inside the application: migrated before the server starts, its connections and
/// upkeep run as services of the same service group.
public protocol StoreLifecycle: StoreFaults {
    /// Brings the schema up to date; safe when several instances start at once.
    func migrate() async throws
    /// Cheap check that the store answers (readiness).
    func ping() async throws
    /// What must run beside the workers while the store is in use (a connection pool).
    var services: [any Service] { get }
}

extension StoreLifecycle {
    public var services: [any Service] { [] }

    public func fault(_ error: any Error) -> StoreFault? { error as? StoreFault }
}

/// Values kept once and shared by every instance (the webhook signing secret).
public protocol SettingsStore: Sendable {
    /// Stores `value` under `key` unless a value is there; returns the value in force.
    func setting(_ key: String, default value: String) async throws -> String
}
