import NIOCore
import OffpeakCore
import PostgresNIO

/// The columns a request is read with; never the request body.
let requestColumns = """
    id, owner, endpoint, model, status, created_at, submitted_at, completed_at, attempts, batch_id,
    upstream_batch_id, callback_url, idempotency_key, body_digest, body_bytes, response_status,
    response_request_id, response_body, error_code, error_message, prompt_tokens, completion_tokens,
    delivery_status, delivery_attempts, delivery_last_status, delivery_last_error, policy, served_by, served_reason
    """

let batchColumns = """
    id, endpoint, model, state, request_count, file_bytes, created_at, input_file_id, upstream_id, upstream_status,
    next_poll_at, ended_at
    """

extension PostgresRow {
    func column<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try makeRandomAccess()[name].decode(T.self)
    }
}

extension DeferredRequest {
    init(_ row: PostgresRow) throws {
        let cells = row.makeRandomAccess()
        func value<T: PostgresDecodable>(_ name: String, _ type: T.Type = T.self) throws -> T { try cells[name].decode(T.self) }
        let responseStatus = try value("response_status", Int?.self)
        let errorCode = try value("error_code", String?.self)
        let promptTokens = try value("prompt_tokens", Int?.self)
        let responseBody = try value("response_body", ByteBuffer?.self)
        let responseRequestID = try value("response_request_id", String?.self)
        let errorMessage = try value("error_message", String?.self)
        let completionTokens = try value("completion_tokens", Int?.self)
        self.init(
            id: try value("id"),
            owner: try value("owner"),
            endpoint: try value("endpoint"),
            model: try value("model"),
            status: DeferredStatus(rawValue: try value("status")) ?? .queued,
            createdAt: try value("created_at"),
            submittedAt: try value("submitted_at"),
            completedAt: try value("completed_at"),
            attempts: try value("attempts"),
            batchID: try value("batch_id"),
            upstreamBatchID: try value("upstream_batch_id"),
            callbackURL: try value("callback_url"),
            idempotencyKey: try value("idempotency_key"),
            bodyDigest: try value("body_digest"),
            bodyBytes: try value("body_bytes"),
            response: responseStatus.map {
                StoredResponse(statusCode: $0, requestID: responseRequestID, body: responseBody.map { Array(buffer: $0) } ?? [])
            },
            error: errorCode.map { DeferredError(code: $0, message: errorMessage ?? "") },
            usage: promptTokens.map { TokenUsage(promptTokens: $0, completionTokens: completionTokens ?? 0) },
            delivery: DeliveryState(
                status: DeliveryStatus(rawValue: try value("delivery_status")) ?? .none,
                attempts: try value("delivery_attempts"),
                lastStatusCode: try value("delivery_last_status"),
                lastError: try value("delivery_last_error")),
            policy: try value("policy"),
            servedBy: try value("served_by", String?.self).flatMap(ServedBy.init(rawValue:)),
            servedReason: try value("served_reason")
        )
    }
}

extension BatchRecord {
    init(_ row: PostgresRow) throws {
        let cells = row.makeRandomAccess()
        func value<T: PostgresDecodable>(_ name: String, _ type: T.Type = T.self) throws -> T { try cells[name].decode(T.self) }
        self.init(
            id: try value("id"),
            endpoint: try value("endpoint"),
            model: try value("model"),
            state: BatchState(rawValue: try value("state")) ?? .ended,
            requestCount: try value("request_count"),
            fileBytes: try value("file_bytes"),
            createdAt: try value("created_at"),
            inputFileID: try value("input_file_id"),
            upstreamID: try value("upstream_id"),
            upstreamStatus: try value("upstream_status"),
            nextPollAt: try value("next_poll_at"),
            endedAt: try value("ended_at")
        )
    }
}
