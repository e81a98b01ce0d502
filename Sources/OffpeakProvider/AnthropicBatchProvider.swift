import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import OffpeakCore

/// Anthropic's Message Batches (`POST {url}/messages/batches`, polled, results read from
/// `results_url` line by line) behind the workers' `BatchProvider`. There is no file to upload:
/// the requests go in the create call, read again from the store (`CreateBatchRequest.source`).
/// Message batches carry no metadata, so a batch whose create went unrecorded in a crash cannot
/// be found again: it is created anew (the rows are settled once, whichever answers).
public struct AnthropicBatchProvider: BatchProvider {
    private let connection: ProviderConnection
    private let timeout: TimeAmount

    public init(client: HTTPClient, baseURL: String, apiKey: String, timeout: TimeAmount = .seconds(120)) {
        connection = ProviderConnection(client: client, baseURL: baseURL, apiKey: apiKey, auth: .anthropic)
        self.timeout = timeout
    }

    /// Nothing to upload: the requests are sent with the create call.
    public func uploadBatchFile(
        filename: String, size: Int, makeReader: @escaping @Sendable () -> ChunkReader
    ) async throws(ProviderError) -> String {
        "inline:" + filename
    }

    public func createBatch(_ create: CreateBatchRequest) async throws(ProviderError) -> UpstreamBatch {
        guard let source = create.source else { throw ProviderError(.malformed, message: "a message batch needs its requests") }
        var jsonl: [UInt8] = []
        do {
            let next = source()
            while var chunk = try await next() { jsonl += chunk.readBytes(length: chunk.readableBytes) ?? [] }
        } catch {
            throw ProviderError(.transport, message: "could not read the batch's requests: \(error)")
        }
        var request = connection.request("/messages/batches", method: .POST)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try AnthropicWire.createBody(jsonl: jsonl)))
        return try AnthropicWire.batch(try await connection.send(request, timeout: .seconds(600)))
    }

    public func batch(id: String) async throws(ProviderError) -> UpstreamBatch {
        try AnthropicWire.batch(
            try await connection.send(connection.request("/messages/batches/\(ProviderConnection.escape(id))", method: .GET), timeout: timeout))
    }

    public func cancelBatch(id: String) async throws(ProviderError) -> UpstreamBatch {
        try AnthropicWire.batch(
            try await connection.send(
                connection.request("/messages/batches/\(ProviderConnection.escape(id))/cancel", method: .POST), timeout: timeout))
    }

    public func recentBatches(limit: Int) async throws(ProviderError) -> [UpstreamBatch] {
        try AnthropicWire.batchList(
            try await connection.send(connection.request("/messages/batches?limit=\(min(limit, 100))", method: .GET), timeout: timeout))
    }

    /// Message batches have no files: their requests were inline and their results expire with them.
    public func deleteFile(id: String) async throws(ProviderError) {}

    /// `id` is the batch's `results_url`; each line is handed on in the OpenAI output format.
    public func readFileLines(id: String, handle: @Sendable ([[UInt8]]) async throws -> Void) async throws {
        try await connection.lines(connection.request(id, method: .GET)) { lines in
            try await handle(lines.compactMap(AnthropicWire.outputLine))
        }
    }
}
