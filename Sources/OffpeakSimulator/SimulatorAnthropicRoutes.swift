import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Anthropic's API on the simulator, beside the OpenAI-compatible one: `POST /v1/messages` (SSE
/// when `stream` is true) and Message Batches.
struct SimulatorAnthropicRoutes: Sendable {
    let state: SimulatorState
    let configuration: SimulatorConfiguration

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/messages") { request, _ in try await message(request) }
        router.post("/v1/messages/batches") { request, _ in try await create(request) }
        router.get("/v1/messages/batches") { request, _ in
            let limit = request.uri.queryParameters.get("limit").flatMap(Int.init) ?? 20
            return SimulatorResponses.raw(
                await state.messageBatchList(limit: limit, afterID: request.uri.queryParameters.get("after_id"), baseURL: base(request)))
        }
        router.get("/v1/messages/batches/:id") { request, context in
            guard let bytes = await state.messageBatchJSON(try context.parameters.require("id"), baseURL: base(request)) else {
                return Self.error(404, "No message batch with that id")
            }
            return SimulatorResponses.raw(bytes)
        }
        router.get("/v1/messages/batches/:id/results") { _, context in
            guard let bytes = await state.messageBatchResults(try context.parameters.require("id")) else {
                return Self.error(404, "The batch has no results yet")
            }
            return Response(status: .ok, headers: [.contentType: "application/x-jsonl"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.post("/v1/messages/batches/:id/cancel") { request, context in
            guard let bytes = await state.cancelMessageBatch(try context.parameters.require("id"), baseURL: base(request)) else {
                return Self.error(404, "No message batch with that id")
            }
            return SimulatorResponses.raw(bytes)
        }
    }

    func base(_ request: Request) -> String {
        "http://" + (request.head.authority ?? "\(configuration.host):\(configuration.port)")
    }

    static func error(_ status: Int, _ message: String) -> Response {
        SimulatorResponses.json(SimulatedAnthropic.error(status: status, message), status: .init(code: status))
    }

    private func message(_ request: Request) async throws -> Response {
        await state.countRealtimeCall()
        let bytes = try await request.body.collect(upTo: 16 << 20)
        guard let body = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any],
            body["model"] is String, body["messages"] is [Any]
        else { return Self.error(400, "model and messages are required") }
        for marker in SimulatedModel.messageTexts(body).flatMap(FaultMarker.parse) {
            if case .status(let code) = marker.action, code != 200 { return Self.error(code, "Simulated failure with status \(code)") }
        }
        let answer = SimulatedModel.answer(to: body)
        guard body["stream"] as? Bool == true else { return SimulatorResponses.json(SimulatedAnthropic.message(answer)) }
        return SimulatorResponses.events(SimulatedAnthropic.streamEvents(answer), delay: configuration.streamChunkDelay)
    }

    private func create(_ request: Request) async throws -> Response {
        let bytes = try await request.body.collect(upTo: 256 << 20)
        guard let body = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any],
            let requests = body["requests"] as? [Any]
        else { return Self.error(400, "requests is required") }
        do {
            let id = try await state.createMessageBatch(requests: requests)
            guard let json = await state.messageBatchJSON(id, baseURL: base(request)) else { return Self.error(500, "lost") }
            return SimulatorResponses.raw(json)
        } catch {
            guard case .badRequest(let message) = error else { return Self.error(500, "unexpected") }
            return Self.error(400, message)
        }
    }
}
