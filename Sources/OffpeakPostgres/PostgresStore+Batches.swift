import NIOCore
import OffpeakCore
import PostgresNIO

/// Leases, polls and settling.
extension PostgresStore {
    public func claimStalledBatches(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        try await batchRecords(
            """
            UPDATE batches SET next_poll_at = \(lease.until), lease_holder = \(lease.holder)
            WHERE id IN (
                SELECT id FROM batches
                WHERE state = 'preparing' AND (next_poll_at IS NULL OR next_poll_at <= \(now))
                ORDER BY created_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: batchColumns)
            """)
    }

    public func claimDuePolls(now: Timestamp, lease: Lease, limit: Int) async throws -> [BatchRecord] {
        try await batchRecords(
            """
            UPDATE batches SET next_poll_at = \(lease.until), lease_holder = \(lease.holder)
            WHERE id IN (
                SELECT id FROM batches WHERE state = 'live' AND next_poll_at <= \(now)
                ORDER BY next_poll_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: batchColumns)
            """)
    }

    public func renewLease(batchID: String, lease: Lease) async throws -> Bool {
        try await client.query(
            """
            UPDATE batches SET next_poll_at = \(lease.until)
            WHERE id = \(batchID) AND lease_holder = \(lease.holder) AND state IN ('preparing', 'live')
            RETURNING id
            """, logger: logger
        ).collect().count > 0
    }

    public func setAside(batchID: String, holder: String, retryAt: Timestamp) async throws {
        try await client.query(
            """
            UPDATE batches SET next_poll_at = \(retryAt), lease_holder = NULL
            WHERE id = \(batchID) AND lease_holder = \(holder) AND state = 'preparing'
            """, logger: logger)
    }

    public func nextPollAt() async throws -> Timestamp? {
        let rows = try await client.query("SELECT MIN(next_poll_at) FROM batches WHERE state = 'live'", logger: logger)
        for try await next in rows.decode(Double?.self) { return next }
        return nil
    }

    public func recordPoll(batchID: String, upstreamStatus: String, nextPollAt: Timestamp) async throws {
        try await client.query(
            """
            UPDATE batches SET upstream_status = \(upstreamStatus), next_poll_at = \(nextPollAt), lease_holder = NULL
            WHERE id = \(batchID)
            """, logger: logger)
    }

    public func pendingMembers(batchID: String) async throws -> [String: BatchMember] {
        let rows = try await client.query(
            "SELECT id, batch_line, attempts FROM deferred_requests WHERE batch_id = \(batchID) AND status = 'submitted'",
            logger: logger)
        var members: [String: BatchMember] = [:]
        for try await (id, line, attempts) in rows.decode((String, Int, Int).self) {
            members[id] = BatchMember(line: line, attempts: attempts)
        }
        return members
    }

    /// One statement for the rows that finish and one for those that go back to the queue, each
    /// fed with arrays: a chunk of 500 rows is two round trips, not 500. (Absent values travel as
    /// empty strings and -1, turned back into NULL by the statement.)
    public func settle(batchID: String, outcomes: [(id: String, disposition: RowDisposition)], now: Timestamp)
        async throws -> [SettledRequest]
    {
        guard !outcomes.isEmpty else { return [] }
        var finish = FinishColumns()
        var requeueIDs: [String] = []
        var refunds: [Int] = []
        for (id, disposition) in outcomes {
            switch disposition {
            case .complete(let response, let usage):
                finish.append(id: id, status: .completed, response: response, error: nil, usage: usage)
            case .fail(let error, let response):
                finish.append(id: id, status: .failed, response: response, error: error, usage: nil)
            case .requeue(_, let refund):
                requeueIDs.append(id)
                refunds.append(refund ? 1 : 0)
            }
        }
        return try await client.withTransaction(logger: logger) { connection in
            var settled: [SettledRequest] = []
            if !finish.ids.isEmpty {
                let rows = try await connection.query(
                    """
                    UPDATE deferred_requests AS d SET status = u.status, completed_at = \(now),
                        response_status = NULLIF(u.response_status, -1), response_request_id = NULLIF(u.request_id, ''),
                        response_body = CASE WHEN u.has_response THEN u.body ELSE NULL END,
                        error_code = NULLIF(u.error_code, ''),
                        error_message = CASE WHEN u.error_code = '' THEN NULL ELSE u.error_message END,
                        prompt_tokens = NULLIF(u.prompt_tokens, -1), completion_tokens = NULLIF(u.completion_tokens, -1),
                        served_by = COALESCE(d.served_by, 'batch'),
                        delivery_status = CASE WHEN d.callback_url IS NULL THEN d.delivery_status ELSE 'pending' END,
                        delivery_next_at = CASE WHEN d.callback_url IS NULL THEN NULL ELSE \(now) END
                    FROM unnest(\(finish.ids)::TEXT[], \(finish.statuses)::TEXT[], \(finish.responseStatuses)::BIGINT[],
                        \(finish.requestIDs)::TEXT[], \(finish.hasResponse)::BOOLEAN[], \(finish.bodies)::BYTEA[],
                        \(finish.errorCodes)::TEXT[], \(finish.errorMessages)::TEXT[], \(finish.promptTokens)::BIGINT[],
                        \(finish.completionTokens)::BIGINT[])
                        AS u(id, status, response_status, request_id, has_response, body, error_code, error_message,
                            prompt_tokens, completion_tokens)
                    WHERE d.id = u.id AND d.batch_id = \(batchID) AND d.status = 'submitted'
                    RETURNING d.id, d.status, d.callback_url IS NOT NULL
                    """, logger: logger)
                for try await (id, status, hasCallback) in rows.decode((String, String, Bool).self) {
                    settled.append(SettledRequest(id: id, status: DeferredStatus(rawValue: status) ?? .failed, hasCallback: hasCallback))
                }
            }
            if !requeueIDs.isEmpty {
                try await connection.query(
                    """
                    UPDATE deferred_requests AS d SET status = 'queued', batch_id = NULL, batch_line = NULL,
                        upstream_batch_id = NULL, submitted_at = NULL, attempts = d.attempts - u.refund
                    FROM unnest(\(requeueIDs)::TEXT[], \(refunds)::BIGINT[]) AS u(id, refund)
                    WHERE d.id = u.id AND d.batch_id = \(batchID) AND d.status = 'submitted'
                    """, logger: logger)
            }
            return settled
        }
    }

    public func endBatch(batchID: String, upstreamStatus: String, now: Timestamp) async throws {
        try await client.query(
            """
            UPDATE batches SET state = 'ended', upstream_status = \(upstreamStatus), ended_at = \(now), next_poll_at = NULL,
                lease_holder = NULL
            WHERE id = \(batchID)
            """, logger: logger)
    }
}

/// The finishing rows of one settle, as one array per column.
private struct FinishColumns {
    var ids: [String] = []
    var statuses: [String] = []
    var responseStatuses: [Int] = []
    var requestIDs: [String] = []
    var hasResponse: [Bool] = []
    var bodies: [ByteBuffer] = []
    var errorCodes: [String] = []
    var errorMessages: [String] = []
    var promptTokens: [Int] = []
    var completionTokens: [Int] = []

    mutating func append(id: String, status: DeferredStatus, response: StoredResponse?, error: DeferredError?, usage: TokenUsage?) {
        ids.append(id)
        statuses.append(status.rawValue)
        responseStatuses.append(response?.statusCode ?? -1)
        requestIDs.append(response?.requestID ?? "")
        hasResponse.append(response != nil)
        bodies.append(ByteBuffer(bytes: response?.body ?? []))
        errorCodes.append(error?.code ?? "")
        errorMessages.append(error?.message ?? "")
        promptTokens.append(usage?.promptTokens ?? -1)
        completionTokens.append(usage?.completionTokens ?? -1)
    }
}
