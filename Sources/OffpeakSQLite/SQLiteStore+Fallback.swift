import Foundation
import GRDB
import OffpeakCore

extension SQLiteStore {
    public func withdraw(id: String, now: Timestamp, reason: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: SQLFallback.withdraw, arguments: [now, reason, id])
            return db.changesCount > 0
        }
    }

    public func recordRealtimeAnswer(id: String, response: StoredResponse, usage: TokenUsage?, now: Timestamp, reason: String)
        async throws
    {
        try await pool.write { db in
            let status: DeferredStatus = (200..<300).contains(response.statusCode) ? .completed : .failed
            let withdrawn = try Row.fetchOne(
                db, sql: "SELECT seq FROM deferred_requests WHERE id = ? AND status = 'cancelled' AND served_by = 'realtime-fallback'",
                arguments: [id])
            try db.execute(
                sql: SQLFallback.recordAnswer,
                arguments: [
                    status.rawValue, response.statusCode, response.requestID, usage?.promptTokens, usage?.completionTokens, now,
                    reason, id,
                ])
            if let withdrawn {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO response_bodies (seq, body) VALUES (?, ?)",
                    arguments: [withdrawn["seq"] as Int64, Data(response.body)])
            }
        }
    }
}

/// The fallback statements.
enum SQLFallback {
    static let withdraw = """
        UPDATE deferred_requests SET status = 'cancelled', completed_at = ?, served_by = 'realtime-fallback', served_reason = ?
        WHERE id = ? AND status = 'queued'
        """

    /// A withdrawn request (cancelled, served from real time) takes the answer (its body goes to
    /// `response_bodies`); one in a batch only notes the fallback. Every right-hand side reads the
    /// row as it was.
    static let recordAnswer = """
        UPDATE deferred_requests SET
            status = CASE WHEN status = 'cancelled' THEN ?1 ELSE status END,
            response_status = CASE WHEN status = 'cancelled' THEN ?2 ELSE response_status END,
            response_request_id = CASE WHEN status = 'cancelled' THEN ?3 ELSE response_request_id END,
            prompt_tokens = CASE WHEN status = 'cancelled' THEN ?4 ELSE prompt_tokens END,
            completion_tokens = CASE WHEN status = 'cancelled' THEN ?5 ELSE completion_tokens END,
            completed_at = CASE WHEN status = 'cancelled' THEN ?6 ELSE completed_at END,
            served_by = 'realtime-fallback', served_reason = ?7
        WHERE id = ?8 AND (status IN ('queued', 'submitted') OR (status = 'cancelled' AND served_by = 'realtime-fallback'))
        """
}
