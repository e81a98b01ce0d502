import Logging
import NIOCore
import OffpeakCore
import PostgresNIO

/// The state a request must be in for a finish to apply to it.
struct FinishGuard {
    var status: DeferredStatus
    var batchID: String?
    var servedBy: ServedBy?
}

extension PostgresStore {
    /// Applies `RequestFinish`es in one statement fed with arrays (absent values travel as empty
    /// strings and -1, turned back into NULL by the statement); returns the ids whose guard held.
    static func finish(
        _ rows: [(id: String, finish: RequestFinish)], expecting expected: FinishGuard, now: Timestamp,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Set<String> {
        guard !rows.isEmpty else { return [] }
        var finish = FinishColumns()
        for (id, outcome) in rows { finish.append(id: id, outcome) }
        let result = try await connection.query(
            """
            UPDATE deferred_requests AS d SET status = u.status, completed_at = \(now),
                response_status = NULLIF(u.response_status, -1), response_request_id = NULLIF(u.request_id, ''),
                response_body = CASE WHEN u.has_response THEN u.body ELSE NULL END,
                error_code = NULLIF(u.error_code, ''),
                error_message = CASE WHEN u.error_code = '' THEN NULL ELSE u.error_message END,
                prompt_tokens = NULLIF(u.prompt_tokens, -1), completion_tokens = NULLIF(u.completion_tokens, -1),
                served_by = u.served_by, served_reason = COALESCE(NULLIF(u.served_reason, ''), d.served_reason),
                delivery_status = CASE WHEN u.delivery_due THEN 'pending' ELSE d.delivery_status END,
                delivery_next_at = CASE WHEN u.delivery_due THEN \(now) ELSE d.delivery_next_at END
            FROM unnest(\(finish.ids)::TEXT[], \(finish.statuses)::TEXT[], \(finish.responseStatuses)::BIGINT[],
                \(finish.requestIDs)::TEXT[], \(finish.hasResponse)::BOOLEAN[], \(finish.bodies)::BYTEA[],
                \(finish.errorCodes)::TEXT[], \(finish.errorMessages)::TEXT[], \(finish.promptTokens)::BIGINT[],
                \(finish.completionTokens)::BIGINT[], \(finish.servedBy)::TEXT[], \(finish.servedReasons)::TEXT[],
                \(finish.deliveryDue)::BOOLEAN[])
                AS u(id, status, response_status, request_id, has_response, body, error_code, error_message,
                    prompt_tokens, completion_tokens, served_by, served_reason, delivery_due)
            WHERE d.id = u.id AND d.status = \(expected.status.rawValue)
                AND (\(expected.batchID ?? "")::TEXT = '' OR d.batch_id = \(expected.batchID ?? ""))
                AND (\(expected.servedBy?.rawValue ?? "")::TEXT = '' OR d.served_by = \(expected.servedBy?.rawValue ?? ""))
            RETURNING d.id
            """, logger: logger)
        var finished: Set<String> = []
        for try await id in result.decode(String.self) { finished.insert(id) }
        return finished
    }
}

/// The finishing rows of one statement, as one array per column.
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
    var servedBy: [String] = []
    var servedReasons: [String] = []
    var deliveryDue: [Bool] = []

    mutating func append(id: String, _ finish: RequestFinish) {
        ids.append(id)
        statuses.append(finish.status.rawValue)
        responseStatuses.append(finish.response?.statusCode ?? -1)
        requestIDs.append(finish.response?.requestID ?? "")
        hasResponse.append(finish.response != nil)
        bodies.append(ByteBuffer(bytes: finish.response?.body ?? []))
        errorCodes.append(finish.error?.code ?? "")
        errorMessages.append(finish.error?.message ?? "")
        promptTokens.append(finish.usage?.promptTokens ?? -1)
        completionTokens.append(finish.usage?.completionTokens ?? -1)
        servedBy.append(finish.servedBy.rawValue)
        servedReasons.append(finish.servedReason ?? "")
        deliveryDue.append(finish.deliveryDue)
    }
}
