import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import OffpeakCore
import OffpeakProvider
import OffpeakTestSupport
import Synchronization
import Testing

/// The relay's and the webhooks' client against real servers on loopback sockets: bodies both
/// ways, keep-alive reuse, back-pressure, deadlines, closed connections, TLS.
@Suite struct HTTP1ClientTests {
    /// The deadline of every exchange but the one that tests deadlines: the whole suite shares the
    /// test process's task pool (two threads on a two-core machine) with the end-to-end tests,
    /// which can hold it for seconds, and a deadline runs from the call's start.
    static let patience = TimeAmount.seconds(120)

    static func request(_ url: String, _ method: HTTPMethod = .GET, body: HTTP1Client.Body = .none) throws -> HTTP1Client.Request {
        HTTP1Client.Request(target: try #require(HTTP1Client.Target(url: url)), method: method, body: body)
    }

    static func text(_ response: HTTP1Client.Response) async throws -> String {
        String(buffer: try await response.body.collect(upTo: 64 << 20))
    }

    @Test func targetsAreParsedOnceAndStrictly() throws {
        let plain = try #require(HTTP1Client.Target(url: "http://127.0.0.1:8080/v1/chat/completions?x=1"))
        #expect(plain.secure == false && plain.host == "127.0.0.1" && plain.port == 8080)
        #expect(plain.path == "/v1/chat/completions?x=1")
        let secure = try #require(HTTP1Client.Target(url: "https://api.example.com"))
        #expect(secure.secure && secure.port == 443 && secure.path == "/")
        let v6 = try #require(HTTP1Client.Target(url: "http://[::1]:9/hook"))
        #expect(v6.host == "::1" && v6.port == 9 && v6.path == "/hook")
        #expect(HTTP1Client.Target(url: "http://example.com?q=1")?.path == "/?q=1")
        // An upstream's base, parsed once, with each call's path after it.
        let base = try #require(HTTP1Client.Target(url: "http://127.0.0.1:9/compatible-mode/v1/"))
        #expect(base.appending(path: "/chat/completions?a=b").path == "/compatible-mode/v1/chat/completions?a=b")
        #expect(secure.appending(path: "/files").path == "/files" && secure.appending(path: "/files").host == "api.example.com")
        for bad in ["ftp://example.com/", "http://", "http://user:pw@example.com/", "http://example.com:0/", "http://example.com:x/",
            "http://example.com/#frag", "example.com/path"]
        {
            #expect(HTTP1Client.Target(url: bad) == nil, "\(bad)")
        }
    }

    @Test func bodiesGoBothWaysAndConnectionsAreReused() async throws {
        let client = HTTP1Client()
        defer { client.shutdown() }
        try await HTTP1TestServer.with { base in
            let first = try await Self.text(try await client.execute(try Self.request(base + "/peer"), timeout: Self.patience))
            let second = try await Self.text(try await client.execute(try Self.request(base + "/peer"), timeout: Self.patience))
            #expect(first == second, "the second call took the first one's connection")

            let bytes = String(repeating: "abc", count: 10_000)
            let echoed = try await client.execute(
                try Self.request(base + "/echo", .POST, body: .bytes(ByteBuffer(string: bytes))), timeout: Self.patience)
            #expect(echoed.status == .ok)
            #expect(echoed.headers.first(name: "X-Peer") == first, "bytes")
            #expect(try await Self.text(echoed) == bytes)

            // A stream of unknown length goes chunked; one of known length with its Content-Length.
            let parts = (0..<5).map { ByteBuffer(string: "part \($0);") }
            for length in [nil, Int64(parts.map(\.readableBytes).reduce(0, +))] {
                let streamed = try await client.execute(
                    try Self.request(base + "/echo", .POST, body: .stream(Parts(parts: parts), length: length)), timeout: Self.patience)
                #expect(streamed.headers.first(name: "X-Peer") == first, "stream of length \(String(describing: length))")
                #expect(try await Self.text(streamed) == parts.map { String(buffer: $0) }.joined())
            }
            let last = try await Self.text(try await client.execute(try Self.request(base + "/peer"), timeout: Self.patience))
            #expect(last == first, "every exchange above left the connection reusable")
        }
    }

    @Test func aLargeAnswerArrivesWholeThroughBackPressure() async throws {
        let client = HTTP1Client()
        defer { client.shutdown() }
        try await HTTP1TestServer.with { base in
            // 64 parts of 16 KiB: far more than the sixteen the body holds before reads stop.
            let response = try await client.execute(try Self.request(base + "/stream?parts=64&size=16384"), timeout: Self.patience)
            var total = 0
            var misplaced = 0
            for try await part in response.body {
                // The parts may be cut or joined on the way; their bytes say which part they belong to.
                for (offset, byte) in part.readableBytesView.enumerated() where byte != UInt8(truncatingIfNeeded: (total + offset) / 16384) {
                    misplaced += 1
                }
                total += part.readableBytes
                await Task.yield()
            }
            #expect(misplaced == 0)
            #expect(total == 64 * 16384)
        }
    }

    @Test func manyCallsAtOnceEachGetTheirOwnAnswer() async throws {
        let client = HTTP1Client()
        defer { client.shutdown() }
        try await HTTP1TestServer.with { base in
            try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<48 {
                    group.addTask {
                        let body = "call \(index)"
                        let response = try await client.execute(
                            try Self.request(base + "/echo", .POST, body: .bytes(ByteBuffer(string: body))), timeout: Self.patience)
                        let answer = try await Self.text(response)
                        #expect(answer == body)
                        return answer
                    }
                }
                var seen = Set<String>()
                for try await answer in group { seen.insert(answer) }
                #expect(seen.count == 48)
            }
        }
    }

    @Test func aBodyLeftUnreadClosesItsConnectionAndTheNextCallOpensAnother() async throws {
        let client = HTTP1Client()
        defer { client.shutdown() }
        try await HTTP1TestServer.with { base in
            let peer: String?
            do {
                let response = try await client.execute(try Self.request(base + "/stream?parts=64&size=65536"), timeout: Self.patience)
                peer = response.headers.first(name: "X-Peer")
                var iterator = response.body.makeAsyncIterator()
                _ = try await iterator.next()
            }
            let next = try await Self.text(try await client.execute(try Self.request(base + "/peer"), timeout: Self.patience))
            #expect(peer != nil && next != peer, "the half-read connection was not reused")
        }
    }

    @Test func theDeadlineBoundsAnExchangeThatGetsNoAnswer() async throws {
        let client = HTTP1Client()
        defer { client.shutdown() }
        try await HTTP1TestServer.with { base in
            // A pooled connection first: no connect is left half-made when the server stops.
            _ = try await Self.text(try await client.execute(try Self.request(base + "/peer"), timeout: Self.patience))
            let start = ContinuousClock.now
            await #expect(throws: HTTP1Client.Failure.timedOut) {
                _ = try await client.execute(try Self.request(base + "/never"), timeout: .milliseconds(300))
            }
            // Far sooner than the server would answer, even with the task pool held up for a while.
            #expect(ContinuousClock.now - start < .seconds(120))
        }
    }

    @Test func aCancelledCallStopsWaiting() async throws {
        let client = HTTP1Client()
        defer { client.shutdown() }
        try await HTTP1TestServer.with { base in
            _ = try await Self.text(try await client.execute(try Self.request(base + "/peer"), timeout: Self.patience))
            let call = Task { try await client.execute(try Self.request(base + "/never"), timeout: .seconds(60)) }
            try await Task.sleep(for: .milliseconds(100))
            call.cancel()
            await #expect(throws: HTTP1Client.Failure.cancelled) { _ = try await call.value }
        }
    }

    @Test func nobodyListeningIsAConnectFailure() async throws {
        let server = try await CannedServer(answers: ["HTTP/1.1 204 No Content\r\n\r\n"])
        let port = server.port
        await server.close()
        let client = HTTP1Client()
        defer { client.shutdown() }
        await #expect(throws: HTTP1Client.Failure.connectFailed) {
            _ = try await client.execute(try Self.request("http://127.0.0.1:\(port)/"), timeout: Self.patience)
        }
    }

    /// A request given addresses goes to them, never to the host's name looked up (the names here
    /// are under `.invalid`, which never resolves), and takes a pooled connection only if it is to
    /// one of them. The server listens on 127.0.0.1 alone, so 127.0.0.2 refuses.
    @Test func aRequestGivenAddressesGoesThereAndNowhereElse() async throws {
        let client = HTTP1Client()
        defer { client.shutdown() }
        try await HTTP1TestServer.with { base in
            let port = try #require(HTTP1Client.Target(url: base)).port
            let served = try SocketAddress(ipAddress: "127.0.0.1", port: port)
            let refused = try SocketAddress(ipAddress: "127.0.0.2", port: port)
            func call(_ path: String, _ addresses: [SocketAddress]) async throws -> String {
                var request = try Self.request("http://hooks.offpeak.invalid:\(port)\(path)")
                request.addresses = addresses
                return try await Self.text(try await client.execute(request, timeout: Self.patience))
            }
            #expect(try await call("/host", [served]) == "hooks.offpeak.invalid:\(port)", "the name is kept for Host")
            let peer = try await call("/peer", [served])
            #expect(try await call("/peer", [served]) == peer, "a pooled connection to an address given is reused")
            await #expect(throws: HTTP1Client.Failure.connectFailed, "a pooled connection to another address is not taken") {
                try await call("/peer", [refused])
            }
            #expect(try await call("/peer", [refused, served]) == peer, "the pooled connection is to one of these")
        }
        try await HTTP1TestServer.with { base in
            // A new connection: each address in turn until one takes it.
            let port = try #require(HTTP1Client.Target(url: base)).port
            var request = try Self.request("http://hooks.offpeak.invalid:\(port)/host")
            request.addresses = [try SocketAddress(ipAddress: "127.0.0.2", port: port), try SocketAddress(ipAddress: "127.0.0.1", port: port)]
            let fresh = HTTP1Client()
            defer { fresh.shutdown() }
            #expect(try await Self.text(try await fresh.execute(request, timeout: Self.patience)) == "hooks.offpeak.invalid:\(port)")
        }
    }

    /// The webhook sender connects to the addresses the dispatcher checked, not to the name.
    @Test func aWebhookGoesToTheAddressesItsHostWasCheckedAgainst() async throws {
        try await HTTP1TestServer.with { base in
            let port = try #require(HTTP1Client.Target(url: base)).port
            let client = HTTP1Client()
            defer { client.shutdown() }
            let sender = HTTPWebhookSender(client: client)
            let url = "http://hooks.offpeak.invalid:\(port)/echo"
            let sent = await sender.send(url: url, addresses: [IPAddress("127.0.0.1")!], headers: [], body: Array("{}".utf8), timeout: 120)
            #expect(sent == .answered(status: 200, retryAfter: nil))
            let elsewhere = await sender.send(url: url, addresses: [IPAddress("127.0.0.2")!], headers: [], body: Array("{}".utf8), timeout: 120)
            #expect(elsewhere == .failed("connection failed"))
        }
    }

    @Test func aHeadAnswerCarriesNoBodyWhateverItsLength() async throws {
        let server = try await CannedServer(answers: [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ])
        defer { Task { await server.close() } }
        let client = HTTP1Client()
        defer { client.shutdown() }
        let head = try await client.execute(try Self.request("http://127.0.0.1:\(server.port)/", .HEAD), timeout: Self.patience)
        #expect(head.headers.first(name: "Content-Length") == "5")
        #expect(try await Self.text(head) == "")
        let next = try await client.execute(try Self.request("http://127.0.0.1:\(server.port)/"), timeout: Self.patience)
        #expect(try await Self.text(next) == "ok")
    }

    @Test func aConnectionTheServerClosesIsNotReused() async throws {
        let server = try await CannedServer(answers: ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], closeAfter: true)
        defer { Task { await server.close() } }
        let client = HTTP1Client()
        defer { client.shutdown() }
        for _ in 0..<5 {
            let response = try await client.execute(try Self.request("http://127.0.0.1:\(server.port)/"), timeout: Self.patience)
            #expect(try await Self.text(response) == "ok")
        }
    }

    @Test func anAnswerCutShortFailsItsCallOrItsBodyAndIsNeverSentAgain() async throws {
        // The head and part of the body, then the connection closes: whether the close comes in
        // the read that brought the head (the answer is not handed over) or after it (the body's
        // reader hears it), the call ends with the connection's failure.
        let server = try await CannedServer(answers: ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok"], closeAfter: true)
        defer { Task { await server.close() } }
        let client = HTTP1Client()
        defer { client.shutdown() }
        for _ in 0..<5 {
            await #expect(throws: HTTP1Client.Failure.self) {
                let response = try await client.execute(
                    try Self.request("http://127.0.0.1:\(server.port)/", .POST, body: .bytes(ByteBuffer(string: "x"))),
                    timeout: Self.patience)
                _ = try await Self.text(response)
            }
        }
        #expect(server.heads.value == 5, "an answered request is not sent again")
    }

    @Test func aCallLostWithAPooledConnectionIsSentAgainOnlyWhenThatIsSafe() async throws {
        // Each connection answers its first request and closes on its second without an answer.
        let server = try await CannedServer(answers: ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", CannedServer.close])
        defer { Task { await server.close() } }
        let client = HTTP1Client()
        defer { client.shutdown() }
        let url = "http://127.0.0.1:\(server.port)/"
        func post(key: String?) throws -> HTTP1Client.Request {
            var request = try Self.request(url, .POST, body: .bytes(ByteBuffer(string: "{}")))
            if let key { request = HTTP1Client.Request(target: request.target, method: .POST, headers: ["Idempotency-Key": key], body: request.body) }
            return request
        }
        #expect(try await Self.text(try await client.execute(try post(key: nil), timeout: Self.patience)) == "ok")
        // A POST the server may have acted on is not sent twice: its failure is the caller's.
        await #expect(throws: HTTP1Client.Failure.connectionClosed) { _ = try await client.execute(try post(key: nil), timeout: Self.patience) }
        #expect(server.heads.value == 2)
        // One that names an idempotency key is, on a new connection.
        #expect(try await Self.text(try await client.execute(try post(key: "k1"), timeout: Self.patience)) == "ok")
        #expect(try await Self.text(try await client.execute(try post(key: "k2"), timeout: Self.patience)) == "ok")
        #expect(server.heads.value == 5)
    }

    @Test func aBodyPastItsLimitIsRefused() async throws {
        let client = HTTP1Client()
        defer { client.shutdown() }
        try await HTTP1TestServer.with { base in
            let response = try await client.execute(try Self.request(base + "/stream?parts=4&size=1000"), timeout: Self.patience)
            await #expect(throws: HTTP1Client.Failure.bodyTooLarge) { _ = try await response.body.collect(upTo: 3000) }
        }
    }

    @Test func httpsWithTheServersCertificateTrustedAndNotOtherwise() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (certificate, key) = try HTTP1TestServer.certificate(in: folder)
        let serverTLS = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        var trusting = HTTP1Client.Configuration()
        trusting.tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
        let client = HTTP1Client(configuration: trusting)
        let stranger = HTTP1Client()
        defer {
            client.shutdown()
            stranger.shutdown()
        }
        try await HTTP1TestServer.with(tls: serverTLS, host: "localhost") { base in
            let first = try await Self.text(try await client.execute(try Self.request(base + "/peer"), timeout: Self.patience))
            let second = try await Self.text(try await client.execute(try Self.request(base + "/peer"), timeout: Self.patience))
            #expect(!first.isEmpty && first == second)
            // An untrusted certificate fails the handshake, and says so.
            await #expect(throws: HTTP1Client.Failure.tlsFailed) {
                _ = try await stranger.execute(try Self.request(base + "/peer"), timeout: Self.patience)
            }
        }
    }
}

/// Parts handed out one at a time, as a request body arrives from a client.
struct Parts: AsyncSequence, Sendable {
    let parts: [ByteBuffer]

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<ByteBuffer>
        mutating func next() async throws -> ByteBuffer? {
            await Task.yield()
            return remaining.popFirst()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: parts[...]) }
}
