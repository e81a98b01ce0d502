import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The client of Offpeak's hot paths, the passthrough relay and webhook deliveries: HTTP/1.1 over
/// keep-alive connections pooled by scheme, host and port, TLS for `https`, bodies streamed both
/// ways with back-pressure, no redirects followed, nothing decompressed.
///
/// A request costs one write of its head and body and one hop back to the caller with the answer
/// (whole, when its end came with its head); the batch API's calls (uploads, downloads, polls) stay
/// on AsyncHTTPClient, where a call's overhead does not matter. When a pooled connection turns out
/// closed under a request, `execute` says when the request is sent again on a new one.
public final class HTTP1Client: Sendable {
    public struct Configuration: Sendable {
        public var connectTimeout: TimeAmount = .seconds(10)
        /// An idle connection older than this is closed rather than reused.
        public var idleTimeout: TimeAmount = .seconds(60)
        public var maxIdleConnectionsPerHost = 64
        public var tls: TLSConfiguration = .makeClientConfiguration()

        public init() {}
    }

    private let group: any EventLoopGroup
    private let configuration: Configuration
    private let pool: HTTP1ConnectionPool
    /// Made on the first `https` connection (it reads the system's trust roots).
    private let sslContext = NIOLockedValueBox<NIOSSLContext?>(nil)

    /// One client for the process, on NIO's shared event loops, never shut down.
    public static let shared = HTTP1Client()

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, configuration: Configuration = .init()) {
        self.group = group
        self.configuration = configuration
        pool = HTTP1ConnectionPool(idleTimeout: configuration.idleTimeout, maxIdlePerKey: configuration.maxIdleConnectionsPerHost)
    }

    /// Closes the idle connections; requests made afterwards fail with `Failure.shutDown`.
    public func shutdown() {
        pool.shutDown()
    }

    /// Sends `request` and returns the answer once its head has arrived. `timeout` bounds the whole
    /// exchange, the body's last part included.
    ///
    /// A pooled connection can be closed by the server just as a request goes out on it (its idle
    /// timeout). Such a request is sent once more on a new connection when its body is in hand and
    /// either it had not been written whole, or it got no byte of answer and is idempotent (the
    /// rule of RFC 9112 §9.3.1, as Go's client applies it).
    public func execute(_ request: Request, timeout: TimeAmount) async throws -> Response {
        guard !pool.isShutDown else { throw Failure.shutDown }
        let deadline = NIODeadline.now() + timeout
        if let pooled = pool.take(request.target.key, to: request.addresses) {
            do {
                return try await send(request, on: pooled, deadline: deadline)
            } catch let lost as Unanswered {
                guard request.body.replayable, !lost.requestSent || request.idempotent else { throw lost.failure }
            }
        }
        let connection = try await connect(request.target, addresses: request.addresses, deadline: deadline)
        do {
            return try await send(request, on: connection, deadline: deadline)
        } catch let lost as Unanswered {
            throw lost.failure
        }
    }

    private func send(_ request: Request, on handler: HTTP1ExchangeHandler, deadline: NIODeadline) async throws -> Response {
        guard let channel = handler.channel else { throw Unanswered(failure: .connectionClosed, requestSent: false) }
        let eventLoop = channel.eventLoop
        let exchange = HTTP1Exchange(answer: eventLoop.makePromise())

        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.target.path, headers: request.headers)
        if !head.headers.contains(name: "host") { head.headers.add(name: "Host", value: request.target.authority) }
        var parts: [HTTPClientRequestPart]
        var stream: (@Sendable (_ write: @Sendable (ByteBuffer) async throws -> Void) async throws -> Void)?
        switch request.body.storage {
        case .none:
            if request.method == .POST || request.method == .PUT || request.method == .PATCH {
                head.headers.replaceOrAdd(name: "Content-Length", value: "0")
            }
            parts = [.head(head), .end(nil)]
        case .bytes(let bytes):
            head.headers.replaceOrAdd(name: "Content-Length", value: String(bytes.readableBytes))
            parts = [.head(head), .body(.byteBuffer(bytes)), .end(nil)]
        case .stream(let length, let write):
            if let length { head.headers.replaceOrAdd(name: "Content-Length", value: String(length)) }
            exchange.bodyBytesLeft = length
            parts = [.head(head)]
            stream = write
        }
        let started = parts
        eventLoop.execute {
            if !handler.begin(exchange, parts: started, deadline: deadline) {
                exchange.fail(Failure.connectionClosed)
            }
        }
        if let stream {
            do {
                try await stream { part in
                    try await eventLoop.flatSubmit { handler.write(.body(.byteBuffer(part)), for: exchange) }.get()
                }
                try await eventLoop.flatSubmit { handler.write(.end(nil), for: exchange) }.get()
            } catch {
                // The answer (an early refusal, or the connection's failure) says what happened.
                eventLoop.execute { handler.abort(exchange, Failure.connectionClosed) }
            }
        }
        let answer = try await withTaskCancellationHandler {
            try await exchange.answer.futureResult.get()
        } onCancel: {
            eventLoop.execute { handler.abort(exchange, Failure.cancelled) }
        }
        return Response(status: answer.head.status, headers: answer.head.headers, body: answer.body)
    }

    /// A new connection to `target`: to the first of `addresses` that takes it, when there are any;
    /// otherwise to the host, looked up.
    private func connect(_ target: Target, addresses: [SocketAddress], deadline: NIODeadline) async throws -> HTTP1ExchangeHandler {
        guard !addresses.isEmpty else { return try await connect(target, at: nil, deadline: deadline) }
        var failure = Failure.connectFailed
        for address in addresses {
            do {
                return try await connect(target, at: address, deadline: deadline)
            } catch let refused as Failure where refused == .connectFailed || refused == .connectTimeout {
                failure = refused
            }
        }
        throw failure
    }

    private func connect(_ target: Target, at address: SocketAddress?, deadline: NIODeadline) async throws -> HTTP1ExchangeHandler {
        let tls = target.secure ? try makeSSLContext() : nil
        let handler = HTTP1ExchangeHandler(key: target.key, pool: pool)
        let serverName = target.hostIsAddress ? nil : target.host
        let eventLoop = group.next()
        let handshake = tls.map { _ in eventLoop.makePromise(of: Void.self) }
        // The exchange's deadline bounds the connect too; when it is the nearer, running out is
        // the exchange's timeout, not the connect's.
        let left = deadline - .now()
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(min(configuration.connectTimeout, max(left, .milliseconds(1))))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls, let handshake {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                        try pipeline.addHandler(TLSHandshakeWatcher(done: handshake))
                    }
                    try pipeline.addHTTPClientHandlers(leftOverBytesStrategy: .fireError)
                    try pipeline.addHandler(handler)
                }
            }
        let channel: any Channel
        do {
            if let address {
                channel = try await bootstrap.connect(to: address).get()
            } else {
                channel = try await bootstrap.connect(host: target.host, port: target.port).get()
            }
        } catch ChannelError.connectTimeout {
            let failure = left < configuration.connectTimeout ? Failure.timedOut : Failure.connectTimeout
            handshake?.fail(failure)
            throw failure
        } catch {
            handshake?.fail(Failure.connectFailed)
            throw Failure.connectFailed
        }
        if let handshake {
            let timeout = eventLoop.scheduleTask(deadline: deadline) { handshake.fail(Failure.connectTimeout) }
            defer { timeout.cancel() }
            do {
                try await handshake.futureResult.get()
            } catch {
                channel.close(promise: nil)
                throw error
            }
        }
        return handler
    }

    private func makeSSLContext() throws -> NIOSSLContext {
        try sslContext.withLockedValue { context in
            if let context { return context }
            let made = try NIOSSLContext(configuration: configuration.tls)
            context = made
            return made
        }
    }

    /// The connection was lost before any byte of the answer; `requestSent` says whether the
    /// request had been written whole.
    struct Unanswered: Error {
        let failure: Failure
        let requestSent: Bool
    }
}

extension HTTP1Client.Target {
    /// Whether the host is an IP address (which TLS's server name indication must not carry).
    var hostIsAddress: Bool {
        host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
    }
}
