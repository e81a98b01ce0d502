import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `offpeak simulate`: an OpenAI-compatible provider on a real socket, for development, tests,
/// demos and benchmarks. Batches follow the OpenAI lifecycle on a short clock; faults are injected
/// per request (markers, see `FaultMarker`) or per endpoint (`POST /sim/faults`).
public struct SimulatorConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Seconds a batch takes from creation to completion.
    public var batchDelay: Double
    /// Seconds before a real-time answer starts.
    public var latency: Double
    /// Seconds between the chunks of a streamed answer.
    public var streamChunkDelay: Double
    /// When set, callers must present this key; otherwise any bearer key is accepted.
    public var apiKey: String?
    /// Seconds between the 64 KiB pieces of a file's content (0: all at once): a slow download.
    public var fileChunkDelay: Double
    /// Seconds before a `service_tier: "flex"` call is answered (flex answers come slowly).
    public var flexLatency: Double

    public init(
        host: String = "127.0.0.1", port: Int = 9090, batchDelay: Double = 5, latency: Double = 0,
        streamChunkDelay: Double = 0.005, apiKey: String? = nil, fileChunkDelay: Double = 0, flexLatency: Double = 0
    ) {
        self.flexLatency = flexLatency
        self.fileChunkDelay = fileChunkDelay
        self.host = host
        self.port = port
        self.batchDelay = batchDelay
        self.latency = latency
        self.streamChunkDelay = streamChunkDelay
        self.apiKey = apiKey
    }
}

public enum Simulator {
    /// Builds the simulator; `onRunning` receives the port it listens on.
    public static func build(
        _ configuration: SimulatorConfiguration, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let state = SimulatorState(batchDelay: configuration.batchDelay)
        let router = Router()
        router.add(middleware: SimulatorAuthMiddleware(apiKey: configuration.apiKey))
        SimulatorRoutes(state: state, configuration: configuration).register(on: router)
        SimulatorAnthropicRoutes(state: state, configuration: configuration).register(on: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "offpeak-simulator"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
    }
}

struct SimulatorAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let apiKey: String?
    static var anthropicKey: HTTPField.Name { HTTPField.Name("x-api-key")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/v1/") else { return try await next(request, context) }
        // OpenAI's `Authorization: Bearer`, or Anthropic's `x-api-key`.
        let header = request.headers[.authorization] ?? ""
        let key = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : request.headers[Self.anthropicKey] ?? ""
        if key.isEmpty || (apiKey != nil && key != apiKey) {
            return SimulatorResponses.error(401, "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key")
        }
        return try await next(request, context)
    }
}

enum SimulatorResponses {
    static func json(_ object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Server-sent events, `delay` seconds apart.
    static func events(_ events: [String], delay: Double) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                for (index, event) in events.enumerated() {
                    if index > 0 && delay > 0 { try await Task.sleep(for: .milliseconds(Int64(delay * 1000))) }
                    try await writer.write(ByteBuffer(string: event))
                }
                try await writer.finish(nil)
            })
    }

    static func raw(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func error(_ status: Int, _ message: String, type: String = "invalid_request_error", code: String? = nil,
                      retryAfter: Double? = nil) -> Response {
        var headers: HTTPFields = [:]
        if let retryAfter { headers[.retryAfter] = String(Int(retryAfter.rounded(.up))) }
        return json(
            SimulatedModel.errorObject(status: status, message: message, type: type, code: code),
            status: .init(code: status), headers: headers)
    }

    static func fault(_ fault: SimulatorState.EndpointFault) -> Response {
        error(fault.status, "Simulated fault with status \(fault.status)",
              type: fault.status == 429 ? "rate_limit_error" : "server_error", code: "simulated_fault",
              retryAfter: fault.retryAfter)
    }
}
