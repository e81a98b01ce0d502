import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffpeakCore

/// The OpenAI-compatible batch surface (DashScope, OpenAI, the simulator) over AsyncHTTPClient.
public struct HTTPBatchProvider: BatchProvider {
    private let client: HTTPClient
    private let baseURL: String
    private let apiKey: String
    private let timeout: TimeAmount

    /// Largest JSON answer read whole (batch objects, file objects, lists).
    static let maxJSONAnswer = 8 << 20
    /// Largest single line of an output file.
    static let maxLine = 64 << 20

    public init(client: HTTPClient, baseURL: String, apiKey: String, timeout: TimeAmount = .seconds(120)) {
        self.client = client
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.timeout = timeout
    }

    public func uploadBatchFile(
        filename: String, size: Int, makeReader: @escaping @Sendable () -> ChunkReader
    ) async throws(ProviderError) -> String {
        let form = MultipartUpload(filename: filename, fileSize: size, reader: makeReader())
        var request = makeRequest("/files", method: .POST)
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(form.boundary)")
        request.body = .stream(
            AsyncThrowingStream(unfolding: { try await form.next() }),
            length: .known(Int64(form.totalSize)))
        return try WireObjects.fileID(try await send(request, timeout: .seconds(3600)))
    }

    public func createBatch(_ create: CreateBatchRequest) async throws(ProviderError) -> UpstreamBatch {
        var request = makeRequest("/batches", method: .POST)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: WireObjects.createBody(create)))
        return try WireObjects.batch(try await send(request, timeout: timeout))
    }

    public func batch(id: String) async throws(ProviderError) -> UpstreamBatch {
        try WireObjects.batch(try await send(makeRequest("/batches/\(escape(id))", method: .GET), timeout: timeout))
    }

    public func cancelBatch(id: String) async throws(ProviderError) -> UpstreamBatch {
        try WireObjects.batch(try await send(makeRequest("/batches/\(escape(id))/cancel", method: .POST), timeout: timeout))
    }

    public func recentBatches(limit: Int) async throws(ProviderError) -> [UpstreamBatch] {
        try WireObjects.batchList(try await send(makeRequest("/batches?limit=\(limit)", method: .GET), timeout: timeout))
    }

    public func readFileLines(id: String, handle: @Sendable ([[UInt8]]) async throws -> Void) async throws {
        let request = makeRequest("/files/\(escape(id))/content", method: .GET)
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

    // MARK: Plumbing

    private func makeRequest(_ path: String, method: HTTPMethod) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "User-Agent", value: "offpeak")
        return request
    }

    private func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? component
    }

    /// Sends `request`; a 2xx answer is read whole (bounded) as a JSON object.
    private func send(_ request: HTTPClientRequest, timeout: TimeAmount) async throws(ProviderError) -> JSONObjectView {
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
