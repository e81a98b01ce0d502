import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import OffpeakTestSupport
import ServiceLifecycle
import Synchronization

/// A request context that knows the client's port, so that a test can tell connections apart.
struct PeerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let peerPort: Int

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerPort = source.channel.remoteAddress?.port ?? 0
    }
}

/// A Hummingbird server on a free loopback port for the client's tests: `/peer` answers the
/// client's port, `/host` the request's `Host`, `/echo` streams the request body back, `/stream` sends `parts` parts of
/// `size` bytes (the client's port in `X-Peer`), `/never` does not answer for ten minutes.
enum HTTP1TestServer {
    static func router() -> Router<PeerContext> {
        let router = Router(context: PeerContext.self)
        router.get("/peer") { _, context in "\(context.peerPort)" }
        router.get("/host") { request, _ in request.head.authority ?? "" }
        router.post("/echo") { request, context in
            Response(status: .ok, headers: [.peer: "\(context.peerPort)"], body: ResponseBody(asyncSequence: request.body))
        }
        router.get("/stream") { request, context in
            let parts = request.uri.queryParameters.get("parts", as: Int.self) ?? 1
            let size = request.uri.queryParameters.get("size", as: Int.self) ?? 1
            return Response(
                status: .ok, headers: [.peer: "\(context.peerPort)"],
                body: ResponseBody { writer in
                    for index in 0..<parts {
                        try await writer.write(ByteBuffer(repeating: UInt8(truncatingIfNeeded: index), count: size))
                    }
                    try await writer.finish(nil)
                })
        }
        router.get("/never") { _, _ -> String in
            try await Task.sleep(for: .seconds(600))
            return "late"
        }
        return router
    }

    /// Runs `body` with the server listening; its argument is `http(s)://host:PORT`.
    static func with(
        tls: TLSConfiguration? = nil, host: String = "127.0.0.1", _ body: @Sendable (_ base: String) async throws -> Void
    ) async throws {
        let port = Mutex<Int?>(nil)
        let configuration = ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0))
        let onRunning: @Sendable (any Channel) async -> Void = { channel in port.withLock { $0 = channel.localAddress?.port } }
        let service: any Service
        if let tls {
            service = Application(
                router: router(), server: try .tls(.http1(), tlsConfiguration: tls), configuration: configuration,
                onServerRunning: onRunning, logger: Logger(label: "test-server"))
        } else {
            service = Application(router: router(), configuration: configuration, onServerRunning: onRunning, logger: Logger(label: "test-server"))
        }
        let services = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            defer { group.cancelAll() }
            try await eventually("the test server to listen", within: 30) { port.withLock { $0 } != nil }
            try await body("\(tls == nil ? "http" : "https")://\(host):\(port.withLock { $0 }!)")
            await services.triggerGracefulShutdown()
        }
    }

    /// A self-signed certificate for `localhost` and 127.0.0.1, made with `openssl` in `folder` (an
    /// EC key: made in milliseconds, while the wait holds a thread of the task pool).
    static func certificate(in folder: URL) throws -> (certificate: String, key: String) {
        let certificate = folder.appendingPathComponent("cert.pem").path
        let key = folder.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", certificate,
            "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        return (certificate, key)
    }
}

/// A raw TCP server that answers the n-th request head it reads on a connection with the n-th of
/// `answers` (the last one repeated), as bytes, or closes the connection without an answer where
/// the answer is `CannedServer.close`; and closes after every answer when `closeAfter` says so. For
/// what a well-behaved framework would not send. `heads` counts the request heads it has read.
final class CannedServer: Sendable {
    static let close = "CLOSE"
    let channel: any Channel
    let port: Int
    let heads = Tally()

    init(answers: [String], closeAfter: Bool = false) async throws {
        let heads = self.heads
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        Handler(answers: answers, closeAfter: closeAfter, onHead: { heads.add() }))
                }
            }
        channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    func close() async {
        try? await channel.close()
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answers: [String]
        let closeAfter: Bool
        let onHead: @Sendable () -> Void
        var received = ""
        var next = 0

        init(answers: [String], closeAfter: Bool, onHead: @escaping @Sendable () -> Void) {
            self.answers = answers
            self.closeAfter = closeAfter
            self.onHead = onHead
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
            // Request heads only (the tests' requests carry bodies of a few bytes, counted as text).
            while let end = received.range(of: "\r\n\r\n") {
                let head = received[..<end.upperBound]
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                guard received.utf8.count >= head.utf8.count + length else { return }
                received = String(received.dropFirst(head.count + length))
                onHead()
                let answer = answers[min(next, answers.count - 1)]
                next += 1
                if answer == CannedServer.close {
                    context.close(promise: nil)
                    return
                }
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer)), promise: nil)
                if closeAfter { context.close(promise: nil) }
            }
        }
    }
}

/// A count shared with an event loop.
final class Tally: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

extension HTTPField.Name {
    /// The port of the client connection an answer went out on.
    static let peer = HTTPField.Name("X-Peer")!
}
