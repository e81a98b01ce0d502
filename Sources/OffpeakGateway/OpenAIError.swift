import HTTPTypes
import Hummingbird
import NIOCore
import OffpeakCore

/// An error answered in the OpenAI shape: `{"error":{"message","type","param","code"}}`.
struct OpenAIError: Error, HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String
    let type: String
    let param: String?
    let code: String?
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ message: String, type: String? = nil, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type ?? Self.defaultType(for: status)
        self.param = param
        self.code = code
    }

    static func defaultType(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 401: "authentication_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
    }

    static func body(message: String, type: String, param: String?, code: String?) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("error")
        writer.beginObject()
        writer.field("message", message)
        writer.field("type", type)
        writer.field("param", param)
        writer.field("code", code)
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(
            status: status, headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: Self.body(message: message, type: type, param: param, code: code))))
    }
}

enum JSONResponse {
    static func make(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension OpenAIError {
    /// Reads query parameters with `parse`; a bad one is a 400 naming it.
    static func parameters<T>(_ parse: () throws(InvalidParameter) -> T) throws -> T {
        do {
            return try parse()
        } catch {
            throw OpenAIError(.badRequest, error.message, param: error.parameter, code: "invalid_parameter")
        }
    }
}
