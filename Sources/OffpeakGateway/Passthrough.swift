import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import OffpeakCore
import OffpeakProvider

/// Forwards a call to the provider as it is, with the gateway's key, and relays the answer as it
/// arrives: bodies stream both ways, so server-sent events reach the client chunk by chunk. With
/// several upstreams, a call goes to the one its model is routed to; a call
/// that names no model (a `GET`, a file upload) goes to the first.
struct Passthrough: Sendable {
    let client: HTTP1Client
    let routes: UpstreamRoutes
    /// Where the calls that answer with token usage are counted; nil counts nothing.
    let metering: Metering?
    let logger: Logger
    /// Each upstream's base URL, parsed once (an upstream whose URL the client cannot call is
    /// absent, and its calls answer 502).
    private let bases: [String: HTTP1Client.Target]

    init(client: HTTP1Client, routes: UpstreamRoutes, metering: Metering?, logger: Logger) {
        self.client = client
        self.routes = routes
        self.metering = metering
        self.logger = logger
        bases = Dictionary(
            routes.upstreams.compactMap { upstream in HTTP1Client.Target(url: upstream.url).map { (upstream.name, $0) } },
            uniquingKeysWith: { first, _ in first })
    }

    /// The usage ledger's side of passthrough: the recorder, and the prices a call is costed at.
    struct Metering: Sendable {
        let recorder: UsageRecorder
        let prices: PriceTable
        let clock: SystemClock
    }

    /// Headers that belong to one connection, or that the gateway sets itself.
    static let dropped: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host",
        "authorization", "x-api-key", "content-length", "offpeak-defer", "offpeak-callback-url", "expect",
    ]

    static let forwarded = Counter(label: "offpeak_passthrough_requests_total")
    /// Bodies up to this size are read whole for their model before they are sent on; larger ones
    /// stream, and the call is counted under the model its answer names. With several upstreams,
    /// a model call's body is read up to `routingReadLimit` to route it.
    static let modelReadLimit: Int64 = 1 << 20
    static let routingReadLimit: Int64 = 64 << 20

    /// The upstream's base URL and key on a request to it.
    static func authorize(_ upstream: inout HTTP1Client.Request, for target: Upstream) {
        switch target.kind {
        case .openai: upstream.headers.add(name: "Authorization", value: "Bearer \(target.apiKey)")
        case .anthropic: upstream.headers.add(name: "x-api-key", value: target.apiKey)
        }
    }

    /// The upstream's base URL (configuration accepts only `http` and `https` ones).
    func base(of upstream: Upstream) throws -> HTTP1Client.Target {
        guard let base = bases[upstream.name] else {
            throw OpenAIError(.badGateway, "The upstream's URL cannot be called.", type: "upstream_error", code: "upstream_unreachable")
        }
        return base
    }

    /// Hop-by-hop headers and those the gateway sets itself, dropped from a relayed answer.
    static func droppedFromAnswers(_ name: String) -> Bool {
        if dropped.contains(name) { return true }
        guard name.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else { return false }
        return dropped.contains(name.lowercased())
    }

    static func notRouted(_ model: String) -> OpenAIError {
        OpenAIError(.badRequest, "No upstream takes the model '\(model)'.", param: "model", code: "model_not_routed")
    }

    func forward(_ request: Request, context: GatewayContext) async throws -> Response {
        let length = request.headers[.contentLength].flatMap(Int64.init)
        let modelCall = request.method == .post && UsageRecord.meteredEndpoints.contains(request.uri.path)
        // The model a call names: read from its body when it is small enough to keep whole (larger
        // when the call must be routed by it).
        let readLimit = routes.routesByModel ? Self.routingReadLimit : metering != nil ? Self.modelReadLimit : nil
        var requestModel: String?
        var bytes: ByteBuffer?
        if modelCall, let length, let readLimit, length <= readLimit {
            let read = try await request.body.collect(upTo: Int(length))
            requestModel = (try? JSONObjectView(Array(buffer: read)))?.string("model")
            bytes = read
        }
        let target = try route(model: requestModel)
        var body = HTTP1Client.Body.none
        if let bytes {
            body = .bytes(bytes)
        } else if length != 0, request.method != .get, request.method != .head {
            body = .stream(request.body, length: length)
        }
        let response = try await execute(request, at: target, body: body, timeout: .seconds(3600))
        return relay(response, of: request, context: context, at: target, model: requestModel, lane: .realtime)
    }

    /// The upstream a call for `model` goes to (the first, for a call that names none).
    func route(model: String?) throws -> Upstream {
        guard routes.routesByModel, let model else { return routes.upstreams[0] }
        guard let routed = routes.route(model: model) else { throw Self.notRouted(model) }
        return routed
    }

    /// Sends the client's call to `target` with `body`: its headers (less the hop-by-hop ones and
    /// its key), the upstream's key.
    func execute(_ request: Request, at target: Upstream, body: HTTP1Client.Body, timeout: TimeAmount) async throws
        -> HTTP1Client.Response
    {
        // `/v1/chat/completions?x` → `{upstream}/chat/completions?x`
        var path = request.uri.path.dropFirst("/v1".count)
        if let query = request.uri.query, !query.isEmpty { path += "?" + query }
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headers.count + 2)
        for field in request.headers where !Self.dropped.contains(field.name.canonicalName) {
            headers.add(name: field.name.rawName, value: field.value)
        }
        var upstream = HTTP1Client.Request(
            target: try base(of: target).appending(path: path), method: NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue),
            headers: headers, body: body)
        Self.authorize(&upstream, for: target)
        Self.forwarded.increment()
        do {
            return try await client.execute(upstream, timeout: timeout)
        } catch {
            logger.warning("passthrough failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw OpenAIError(.badGateway, "The provider could not be reached.", type: "upstream_error", code: "upstream_unreachable")
        }
    }

    /// Relays the provider's answer as it arrives, counting a model call on the ledger in `lane`.
    func relay(
        _ response: HTTP1Client.Response, of request: Request, context: GatewayContext, at target: Upstream, model: String?, lane: Lane,
        headers extra: HTTPFields = [:]
    ) -> Response {
        var headers = extra
        for header in response.headers where !Self.droppedFromAnswers(header.name) {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        let contentLength = response.headers.first(name: "content-length").flatMap(Int.init)
        let body = response.body
        let meter = metering.flatMap { metering -> CallMeter? in
            guard request.method == .post, UsageRecord.meteredEndpoints.contains(request.uri.path) else { return nil }
            return CallMeter(
                metering: metering, owner: context.owner, upstream: target.name, endpoint: request.uri.path, requestModel: model,
                lane: lane, statusCode: Int(response.status.code), contentType: response.headers.first(name: "content-type"))
        }
        let status = HTTPResponse.Status(code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase)
        if let whole = body.whole, request.method != .head, contentLength == whole.readableBytes {
            // Already in hand (most answers, which say their length): written with the head, counted now.
            if var meter {
                meter.answer.consume(whole)
                meter.record()
            }
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: whole))
        }
        return Response(
            status: status, headers: headers,
            body: ResponseBody(contentLength: contentLength) { writer in
                var meter = meter
                // Counted however the relay ends: the provider answered, and bills what it sent.
                defer { meter?.record() }
                for try await chunk in body {
                    meter?.answer.consume(chunk)
                    try await writer.write(chunk)
                }
                try await writer.finish(nil)
            })
    }

    /// One whole real-time answer (for a deferred call that falls back): `POST {upstream}{path}`
    /// with `body` at the upstream named (the request's), the answer read in full (up to 64 MiB).
    func fetch(upstream name: String, path: String, body: [UInt8]) async throws -> (status: Int, requestID: String?, body: [UInt8]) {
        guard let target = routes.named(name) else {
            throw OpenAIError(
                .badGateway, "The request's upstream '\(name)' is not configured.", type: "upstream_error", code: "upstream_unreachable")
        }
        var upstream = HTTP1Client.Request(
            target: try base(of: target).appending(path: path.dropFirst("/v1".count)), method: .POST,
            headers: ["Content-Type": "application/json"], body: .bytes(ByteBuffer(bytes: body)))
        Self.authorize(&upstream, for: target)
        Self.forwarded.increment()
        do {
            let response = try await client.execute(upstream, timeout: .seconds(600))
            let bytes = try await response.body.collect(upTo: 64 << 20)
            return (Int(response.status.code), response.headers.first(name: "x-request-id"), Array(buffer: bytes))
        } catch {
            logger.warning("real-time fallback failed", metadata: ["path": "\(path)", "error": "\(error)"])
            throw OpenAIError(.badGateway, "The provider could not be reached.", type: "upstream_error", code: "upstream_unreachable")
        }
    }
}

/// One passthrough call's usage, read from its answer as it is relayed, then handed to the recorder.
struct CallMeter {
    let metering: Passthrough.Metering
    let owner: String
    let upstream: String
    let endpoint: String
    let requestModel: String?
    let lane: Lane
    let statusCode: Int
    var answer: AnswerMeter
    private var recorded = false

    init(
        metering: Passthrough.Metering, owner: String, upstream: String, endpoint: String, requestModel: String?, lane: Lane,
        statusCode: Int, contentType: String?
    ) {
        self.lane = lane
        self.metering = metering
        self.owner = owner
        self.upstream = upstream
        self.endpoint = endpoint
        self.requestModel = requestModel
        self.statusCode = statusCode
        answer = AnswerMeter(contentType: contentType)
    }

    mutating func record() {
        guard !recorded else { return }
        recorded = true
        answer.finish()
        metering.recorder.record(
            .passthrough(
                owner: owner, upstream: upstream, lane: lane, endpoint: endpoint, model: requestModel ?? answer.model ?? "unknown", statusCode: statusCode,
                usage: answer.usage, prices: metering.prices, now: metering.clock.now()))
    }
}
