import Hummingbird
import NIOCore
import OffpeakCore

/// The operator API's queues: listed, paused, resumed and flushed by group.
extension AdminRoutes {
    func queues(matching selector: GroupSelector = GroupSelector()) async throws -> [QueueGroup] {
        async let backlogs = store.backlogs()
        async let paused = store.pausedGroups()
        return QueueGroup.list(backlogs: try await backlogs, paused: try await paused, now: clock.now())
            .filter { selector.matches($0.key) }
    }

    func queues() async throws -> Response {
        ListResponse.make(try await queues(), write: { $0.write(to: &$1) })
    }

    /// Pauses or resumes the groups the body selects (those queued, and those paused); answers them as they now stand.
    func setPaused(_ request: Request, _ paused: Bool) async throws -> Response {
        let groups = try await setPaused(try await Self.selector(request), paused)
        return ListResponse.make(groups, write: { $0.write(to: &$1) })
    }

    /// Pauses or resumes the groups `selector` matches; returns them as they now stand.
    func setPaused(_ selector: GroupSelector, _ paused: Bool) async throws -> [QueueGroup] {
        let matched = try await queues(matching: selector)
        try await store.setPaused(matched.map(\.key), paused: paused, now: clock.now())
        return matched.map { var group = $0; group.paused = paused; return group }
    }

    /// Flushes the groups the body selects now; answers the batches it started.
    func flush(_ request: Request) async throws -> Response {
        ListResponse.make(try await flush(try await Self.selector(request)), write: { $0.write(to: &$1) })
    }

    /// Flushes the groups `selector` matches now (those paused or empty are left); returns the batches it started.
    func flush(_ selector: GroupSelector) async throws -> [BatchRecord] {
        guard let flusher else {
            throw OpenAIError(.serviceUnavailable, "No flusher runs in this process.", type: "server_error", code: "flusher_unavailable")
        }
        let groups = try await queues(matching: selector).filter { !$0.paused && $0.queued > 0 }.map(\.key)
        return try await flusher.flushNow(groups)
    }

    static func selector(_ request: Request) async throws -> GroupSelector {
        let body = try await request.body.collect(upTo: 65_536)
        do {
            return try GroupSelector(body: Array(buffer: body))
        } catch {
            throw OpenAIError(.badRequest, error.message, param: error.field, code: "invalid_body")
        }
    }
}
