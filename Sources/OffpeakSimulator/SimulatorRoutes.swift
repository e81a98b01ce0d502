import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

struct SimulatorRoutes: Sendable {
    let state: SimulatorState
    let configuration: SimulatorConfiguration

    static let maxUpload = 520 * 1_000_000

    func register(on router: Router<BasicRequestContext>) {
        for endpoint in ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"] {
            router.post(RouterPath(endpoint)) { request, _ in try await realtime(request, endpoint: endpoint) }
        }
        router.post("/v1/files") { request, _ in try await upload(request) }
        router.get("/v1/files/:id") { _, context in try await fileObject(context.parameters.require("id")) }
        router.get("/v1/files/:id/content") { _, context in try await fileContent(context.parameters.require("id")) }
        router.delete("/v1/files/:id") { _, context in
            let id = try context.parameters.require("id")
            guard await state.deleteFile(id) else { return SimulatorResponses.error(404, "No such File object: \(id)") }
            return SimulatorResponses.json(["id": id, "object": "file", "deleted": true])
        }
        router.post("/v1/batches") { request, _ in try await createBatch(request) }
        router.get("/v1/batches/:id") { _, context in try await batch(context.parameters.require("id")) }
        router.post("/v1/batches/:id/cancel") { _, context in try await cancel(context.parameters.require("id")) }
        router.get("/v1/batches") { request, _ in try await list(request) }
        router.post("/sim/faults") { request, _ in try await injectFault(request) }
        router.get("/sim/stats") { _, _ in SimulatorResponses.raw(await state.stats()) }
    }

    /// A real-time call: the endpoint's answer (chat completions may stream).
    private func realtime(_ request: Request, endpoint: String) async throws -> Response {
        await state.countRealtimeCall()
        if let fault = await state.takeFault(.chat) { return SimulatorResponses.fault(fault) }
        let bytes = try await request.body.collect(upTo: 16 << 20)
        guard let body = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any] else {
            return SimulatorResponses.error(400, "We could not parse the JSON body of your request.")
        }
        guard body["model"] is String else {
            return SimulatorResponses.error(400, "you must provide a model parameter", code: "missing_model")
        }
        // The flex tier: answered slowly, or refused with a fault injected for it.
        let flex = body["service_tier"] as? String == "flex"
        if flex {
            if let fault = await state.takeFault(.flex) { return SimulatorResponses.fault(fault) }
            if configuration.flexLatency > 0 { try await Task.sleep(for: .milliseconds(Int64(configuration.flexLatency * 1000))) }
        }
        for marker in SimulatedModel.messageTexts(body).flatMap(FaultMarker.parse) {
            if case .status(let code) = marker.action, code != 200 {
                return SimulatorResponses.error(code, "Simulated failure with status \(code)", code: "simulated_\(code)")
            }
        }
        if configuration.latency > 0 { try await Task.sleep(for: .milliseconds(Int64(configuration.latency * 1000))) }
        guard body["stream"] as? Bool == true else {
            var result = SimulatedEndpoints.result(endpoint: endpoint, body: body)
            if flex { result["service_tier"] = "flex" }
            return SimulatorResponses.json(result)
        }
        guard endpoint == "/v1/chat/completions" else {
            return SimulatorResponses.error(400, "The simulator streams chat completions only.", code: "stream_unsupported")
        }
        let answer = SimulatedModel.answer(to: body)
        let includeUsage = (body["stream_options"] as? [String: Any])?["include_usage"] as? Bool ?? false
        return SimulatorResponses.events(
            SimulatedModel.streamEvents(answer, includeUsage: includeUsage), delay: configuration.streamChunkDelay)
    }

    private func upload(_ request: Request) async throws -> Response {
        if let fault = await state.takeFault(.upload) { return SimulatorResponses.fault(fault) }
        guard let contentType = request.headers[.contentType],
            let boundary = MultipartForm.boundary(fromContentType: contentType)
        else { return SimulatorResponses.error(400, "Expected multipart/form-data with a boundary") }
        // Read into one buffer of the announced size: grown as it came, a 60 MB upload was copied
        // several times over, on the cores the gateway under test shares.
        let length = request.headers[.contentLength].flatMap(Int.init) ?? 0
        var buffer = ByteBufferAllocator().buffer(capacity: min(max(0, length), Self.maxUpload))
        for try await part in request.body {
            guard buffer.readableBytes + part.readableBytes <= Self.maxUpload else { throw HTTPError(.contentTooLarge) }
            buffer.writeImmutableBuffer(part)
        }
        guard let form = buffer.withUnsafeReadableBytes({ MultipartForm(body: $0, boundary: boundary) }) else {
            return SimulatorResponses.error(400, "Malformed multipart body")
        }
        guard let file = form.part("file") else { return SimulatorResponses.error(400, "Missing 'file' part") }
        let purpose = form.part("purpose").map { String(decoding: $0.content, as: UTF8.self) } ?? ""
        guard purpose == "batch" else { return SimulatorResponses.error(400, "purpose must be 'batch'") }
        let stored = await state.addFile(filename: file.filename ?? "upload.jsonl", purpose: purpose, bytes: file.content)
        return SimulatorResponses.json(Self.object(of: stored))
    }

    static func object(of file: SimulatorState.StoredFile) -> [String: Any] {
        [
            "id": file.id, "object": "file", "bytes": file.bytes.count, "created_at": Int(file.createdAt),
            "filename": file.filename, "purpose": file.purpose, "status": "processed",
        ]
    }

    private func fileObject(_ id: String) async throws -> Response {
        guard let file = await state.file(id) else { return SimulatorResponses.error(404, "No such file: \(id)") }
        return SimulatorResponses.json(Self.object(of: file))
    }

    private func fileContent(_ id: String) async throws -> Response {
        if let fault = await state.takeFault(.content) { return SimulatorResponses.fault(fault) }
        guard let file = await state.file(id) else { return SimulatorResponses.error(404, "No such file: \(id)") }
        let delay = configuration.fileChunkDelay
        guard delay > 0 else {
            return Response(
                status: .ok, headers: [.contentType: "application/octet-stream"],
                body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
        }
        let bytes = file.bytes
        return Response(
            status: .ok, headers: [.contentType: "application/octet-stream"],
            body: ResponseBody(contentLength: bytes.count) { writer in
                for start in stride(from: 0, to: bytes.count, by: 65_536) {
                    if start > 0 { try await Task.sleep(for: .milliseconds(Int64(delay * 1000))) }
                    try await writer.write(ByteBuffer(bytes: bytes[start..<min(start + 65_536, bytes.count)]))
                }
                try await writer.finish(nil)
            })
    }

    private func createBatch(_ request: Request) async throws -> Response {
        if let fault = await state.takeFault(.create) { return SimulatorResponses.fault(fault) }
        let bytes = try await request.body.collect(upTo: 1 << 20)
        guard let body = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any],
            let inputFileID = body["input_file_id"] as? String, let endpoint = body["endpoint"] as? String
        else { return SimulatorResponses.error(400, "input_file_id and endpoint are required") }
        let window = body["completion_window"] as? String ?? "24h"
        let metadata = body["metadata"] as? [String: String] ?? [:]
        guard metadata.count <= 16, metadata.allSatisfy({ $0.key.count <= 64 && $0.value.count <= 512 }) else {
            return SimulatorResponses.error(400, "metadata: at most 16 pairs, keys of 64 and values of 512 characters")
        }
        do {
            let id = try await state.createBatch(
                inputFileID: inputFileID, endpoint: endpoint, completionWindow: window, metadata: metadata)
            return SimulatorResponses.raw(await state.createdBatchJSON(id) ?? [])
        } catch SimulatorState.CreateError.badRequest(let message) {
            return SimulatorResponses.error(400, message)
        }
    }

    private func batch(_ id: String) async throws -> Response {
        if let fault = await state.takeFault(.retrieve) { return SimulatorResponses.fault(fault) }
        guard let object = await state.batchJSON(id) else { return SimulatorResponses.error(404, "No such batch: \(id)") }
        return SimulatorResponses.raw(object)
    }

    private func cancel(_ id: String) async throws -> Response {
        guard let object = await state.cancelBatch(id) else { return SimulatorResponses.error(404, "No such batch: \(id)") }
        return SimulatorResponses.raw(object)
    }

    private func list(_ request: Request) async throws -> Response {
        if let fault = await state.takeFault(.list) { return SimulatorResponses.fault(fault) }
        let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 20, 1), 100)
        let after = request.uri.queryParameters.get("after")
        return SimulatorResponses.raw(await state.listJSON(limit: limit, after: after))
    }

    /// `{"endpoint":"upload|create|retrieve|content|chat|list","status":500,"count":2,"retry_after":1}`
    private func injectFault(_ request: Request) async throws -> Response {
        let bytes = try await request.body.collect(upTo: 1 << 16)
        guard let body = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any],
            let name = body["endpoint"] as? String, let endpoint = SimulatorState.Endpoint(rawValue: name),
            let status = body["status"] as? Int
        else {
            let names = SimulatorState.Endpoint.allCases.map(\.rawValue).joined(separator: ", ")
            return SimulatorResponses.error(400, "Expected {\"endpoint\": one of \(names), \"status\": N, \"count\": N}")
        }
        let count = body["count"] as? Int ?? 1
        await state.inject(endpoint, status: status, count: count, retryAfter: (body["retry_after"] as? NSNumber)?.doubleValue)
        return SimulatorResponses.json(["endpoint": name, "status": status, "count": count])
    }
}
