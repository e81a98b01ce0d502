import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffpeakCore

/// One provider's HTTP plumbing, shared by the OpenAI-compatible and the Anthropic clients:
/// requests carrying its key as it wants it, JSON answers read whole (bounded), files read line
/// by line, and a failed answer turned into a `ProviderError` with its `Retry-After`.
struct ProviderConnection: Sendable {
    enum Auth: Sendable {
        /// `Authorization: Bearer` (OpenAI and compatible services).
        case bearer
        /// `x-api-key` and `anthropic-version` (Anthropic).
        case anthropic
    }

    let client: HTTPClient
    let baseURL: String
    let apiKey: String
    let auth: Auth

    /// Largest JSON answer read whole (batch objects, file objects, lists).
    static let maxJSONAnswer = 8 << 20
    /// Largest single line of an output file.
    static let maxLine = 64 << 20

    init(client: HTTPClient, baseURL: String, apiKey: String, auth: Auth) {
        self.client = client
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.auth = auth
    }

    /// A request to `path` under the base URL, or to an absolute URL the provider gave.
    func request(_ path: String, method: HTTPMethod) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: path.hasPrefix("http://") || path.hasPrefix("https://") ? path : baseURL + path)
        request.method = method
        switch auth {
        case .bearer:
            request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        case .anthropic:
            request.headers.add(name: "x-api-key", value: apiKey)
            request.headers.add(name: "anthropic-version", value: "2023-06-01")
        }
        request.headers.add(name: "User-Agent", value: "offpeak")
        return request
    }

    static func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? component
    }

    /// Sends `request`; a 2xx answer is read whole (bounded) as a JSON object.
    func send(_ request: HTTPClientRequest, timeout: TimeAmount) async throws(ProviderError) -> JSONObjectView {
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await client.execute(request, timeout: timeout)
            guard (200..<300).contains(response.status.code) else {
                throw await Self.statusError(response)
            }
            body = try await response.body.collect(upTo: Self.maxJSONAnswer)
        } catch let error as ProviderError {
            throw error
        } catch {
            throw ProviderError(.transport, message: "\(error)")
        }
        do {
            return try JSONObjectView(Array(body.readableBytesView))
        } catch {
            throw ProviderError(.malformed, message: "\(error)")
        }
    }

    /// Streams the lines of a file's content to `handle`, at most 500 at a time.
    func lines(_ request: HTTPClientRequest, handle: @Sendable ([[UInt8]]) async throws -> Void) async throws {
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(3600))
        } catch {
            throw ProviderError(.transport, message: "\(error)")
        }
        guard (200..<300).contains(response.status.code) else {
            throw await Self.statusError(response)
        }
        var splitter = LineSplitter(maxLine: Self.maxLine)
        var batch: [[UInt8]] = []
        for try await buffer in response.body {
            try splitter.feed(buffer) { line in batch.append(line) }
            if batch.count >= 500 {
                try await handle(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if let last = splitter.finish() { batch.append(last) }
        if !batch.isEmpty { try await handle(batch) }
    }

    /// The error of a non-2xx answer: its `error.message` (both providers' shape), `Retry-After`.
    static func statusError(_ response: HTTPClientResponse) async -> ProviderError {
        let excerpt = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
        var message = String(excerpt.prefix(300))
        if let object = try? JSONObjectView(Array(excerpt.utf8)), let text = object.object("error")?.string("message") {
            message = String(text.prefix(300))
        }
        let retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init)
        return ProviderError(.status(Int(response.status.code)), message: message, retryAfter: retryAfter)
    }
}
