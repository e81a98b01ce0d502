import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A small client for the tests: every call over a real socket, answers read whole.
public struct TestHTTP: Sendable {
    public struct Answer: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: [UInt8]

        public var json: [String: Any]? {
            try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        }

        public var text: String { String(decoding: body, as: UTF8.self) }

        /// The OpenAI error's code, if the body is one.
        public var errorCode: String? {
            (json?["error"] as? [String: Any])?["code"] as? String
        }
    }

    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.decompression = .disabled
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        // A loopback connect is refused or made at once; one that waits is the test process held
        // off its threads on a loaded machine (CI once waited past the 10 s default after a restart).
        configuration.timeout.connect = .seconds(60)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public static func send(
        _ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, headers: [(String, String)] = [], timeout: Int64 = 60
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            if !request.headers.contains(name: "Content-Type") { request.headers.add(name: "Content-Type", value: "application/json") }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(timeout))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Array(buffer: bytes))
    }

    public static func post(_ url: String, json: Any, headers: [(String, String)] = []) async throws -> Answer {
        try await send(.POST, url, body: Array(try JSONSerialization.data(withJSONObject: json)), headers: headers)
    }

    public static func get(_ url: String, headers: [(String, String)] = []) async throws -> Answer {
        try await send(.GET, url, headers: headers)
    }
}

/// A chat completion body as an app would send it.
public func chatBody(model: String, _ text: String, extra: [String: Any] = [:]) -> [String: Any] {
    var body: [String: Any] = ["model": model, "messages": [["role": "user", "content": text]]]
    for (key, value) in extra { body[key] = value }
    return body
}

public struct Timeout: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

/// Waits until `condition` holds, checking every 100 ms, or fails after `seconds`.
public func eventually(_ what: String, within seconds: Double = 60, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if try await condition() { return }
        guard Date() < deadline else { throw Timeout(description: "timed out after \(seconds) s waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(100))
    }
}
