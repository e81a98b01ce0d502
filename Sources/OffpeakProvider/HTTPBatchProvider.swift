import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffpeakCore

/// The OpenAI-compatible batch surface (DashScope, OpenAI, the simulator) over AsyncHTTPClient.
public struct HTTPBatchProvider: BatchProvider {
    private let connection: ProviderConnection
    private let timeout: TimeAmount

    public init(client: HTTPClient, baseURL: String, apiKey: String, timeout: TimeAmount = .seconds(120)) {
        connection = ProviderConnection(client: client, baseURL: baseURL, apiKey: apiKey, auth: .bearer)
        self.timeout = timeout
    }

    public func uploadBatchFile(
        filename: String, size: Int, makeReader: @escaping @Sendable () -> ChunkReader
    ) async throws(ProviderError) -> String {
        let form = MultipartUpload(filename: filename, fileSize: size, reader: makeReader())
        var request = connection.request("/files", method: .POST)
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(form.boundary)")
        request.body = .stream(
            AsyncThrowingStream(unfolding: { try await form.next() }),
            length: .known(Int64(form.totalSize)))
        return try WireObjects.fileID(try await connection.send(request, timeout: .seconds(3600)))
    }

    public func createBatch(_ create: CreateBatchRequest) async throws(ProviderError) -> UpstreamBatch {
        var request = connection.request("/batches", method: .POST)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: WireObjects.createBody(create)))
        return try WireObjects.batch(try await connection.send(request, timeout: timeout))
    }

    public func batch(id: String) async throws(ProviderError) -> UpstreamBatch {
        try WireObjects.batch(
            try await connection.send(connection.request("/batches/\(ProviderConnection.escape(id))", method: .GET), timeout: timeout))
    }

    public func cancelBatch(id: String) async throws(ProviderError) -> UpstreamBatch {
        try WireObjects.batch(
            try await connection.send(
                connection.request("/batches/\(ProviderConnection.escape(id))/cancel", method: .POST), timeout: timeout))
    }

    public func recentBatches(limit: Int) async throws(ProviderError) -> [UpstreamBatch] {
        try WireObjects.batchList(try await connection.send(connection.request("/batches?limit=\(limit)", method: .GET), timeout: timeout))
    }

    public func deleteFile(id: String) async throws(ProviderError) {
        do {
            _ = try await connection.send(connection.request("/files/\(ProviderConnection.escape(id))", method: .DELETE), timeout: timeout)
        } catch where error.kind == .status(404) {
            // Already gone.
        }
    }

    public func readFileLines(id: String, handle: @Sendable ([[UInt8]]) async throws -> Void) async throws {
        try await connection.lines(connection.request("/files/\(ProviderConnection.escape(id))/content", method: .GET), handle: handle)
    }
}
