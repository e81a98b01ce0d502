import Foundation

/// Wall time and sleeping, injected into the workers so that tests drive time themselves.
public protocol WorkerClock: Sendable {
    func now() -> Timestamp
    func sleep(seconds: Double) async throws
}

public struct SystemClock: WorkerClock {
    public init() {}

    public func now() -> Timestamp {
        Date().timeIntervalSince1970
    }

    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return }
        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
    }
}
