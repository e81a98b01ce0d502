import Foundation
import GRDB
import OffpeakCore

/// The columns a request is read with (from `deferred_requests`); never the request body.
let requestColumns = """
    id, owner, endpoint, model, status, created_at, submitted_at, completed_at, attempts, batch_id,
    upstream_batch_id, callback_url, idempotency_key, body_digest, body_bytes, response_status,
    response_request_id, (SELECT body FROM response_bodies WHERE response_bodies.seq = deferred_requests.seq) AS response_body,
    error_code, error_message, prompt_tokens, completion_tokens,
    delivery_status, delivery_attempts, delivery_last_status, delivery_last_error, policy, served_by, served_reason
    """

extension DeferredRequest {
    init(row: Row) {
        let responseStatus: Int? = row["response_status"]
        let errorCode: String? = row["error_code"]
        let promptTokens: Int? = row["prompt_tokens"]
        let responseBody: Data? = row["response_body"]
        self.init(
            id: row["id"],
            owner: row["owner"],
            endpoint: row["endpoint"],
            model: row["model"],
            status: DeferredStatus(rawValue: row["status"]) ?? .queued,
            createdAt: row["created_at"],
            submittedAt: row["submitted_at"],
            completedAt: row["completed_at"],
            attempts: row["attempts"],
            batchID: row["batch_id"],
            upstreamBatchID: row["upstream_batch_id"],
            callbackURL: row["callback_url"],
            idempotencyKey: row["idempotency_key"],
            bodyDigest: row["body_digest"],
            bodyBytes: row["body_bytes"],
            response: responseStatus.map {
                StoredResponse(statusCode: $0, requestID: row["response_request_id"], body: responseBody.map(Array.init) ?? [])
            },
            error: errorCode.map { DeferredError(code: $0, message: row["error_message"] ?? "") },
            usage: promptTokens.map { TokenUsage(promptTokens: $0, completionTokens: row["completion_tokens"] ?? 0) },
            delivery: DeliveryState(
                status: DeliveryStatus(rawValue: row["delivery_status"]) ?? .none,
                attempts: row["delivery_attempts"],
                lastStatusCode: row["delivery_last_status"],
                lastError: row["delivery_last_error"]),
            policy: row["policy"],
            servedBy: (row["served_by"] as String?).flatMap(ServedBy.init(rawValue:)),
            servedReason: row["served_reason"]
        )
    }
}

extension BatchRecord {
    init(row: Row) {
        self.init(
            id: row["id"],
            endpoint: row["endpoint"],
            model: row["model"],
            state: BatchState(rawValue: row["state"]) ?? .ended,
            requestCount: row["request_count"],
            fileBytes: row["file_bytes"],
            createdAt: row["created_at"],
            inputFileID: row["input_file_id"],
            upstreamID: row["upstream_id"],
            upstreamStatus: row["upstream_status"],
            nextPollAt: row["next_poll_at"],
            endedAt: row["ended_at"]
        )
    }
}
