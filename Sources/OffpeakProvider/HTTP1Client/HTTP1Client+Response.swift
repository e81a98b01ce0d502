import NIOCore
import NIOHTTP1

extension HTTP1Client {
    /// An answer: its status and headers, and its body as it arrives. The connection goes back to
    /// the pool once the body has been read to its end; a body dropped before its end closes it.
    public struct Response: Sendable {
        public let status: HTTPResponseStatus
        public let headers: HTTPHeaders
        public let body: ResponseBody
    }

    /// The body's parts, with back-pressure: the connection reads no further than the consumer
    /// while more than a few hundred kilobytes wait. A body whose end came in the read that brought
    /// the head is whole already, and its connection back in the pool.
    public struct ResponseBody: AsyncSequence, Sendable {
        public typealias Element = ByteBuffer
        typealias Producer = NIOThrowingAsyncSequenceProducer<
            ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, HTTP1BodyDelegate
        >

        enum Storage: Sendable {
            case whole(ByteBuffer)
            case stream(Producer)
        }

        let storage: Storage

        /// The body, when it arrived whole with the head.
        public var whole: ByteBuffer? {
            if case .whole(let body) = storage { return body }
            return nil
        }

        public struct AsyncIterator: AsyncIteratorProtocol {
            var whole: ByteBuffer?
            var base: Producer.AsyncIterator?

            public mutating func next() async throws -> ByteBuffer? {
                if base != nil { return try await base!.next() }
                defer { whole = nil }
                return whole
            }
        }

        public func makeAsyncIterator() -> AsyncIterator {
            switch storage {
            case .whole(let body): AsyncIterator(whole: body.readableBytes > 0 ? body : nil)
            case .stream(let producer): AsyncIterator(base: producer.makeAsyncIterator())
            }
        }

        /// The whole body, refused with `HTTP1Client.Failure.bodyTooLarge` past `limit` bytes.
        public func collect(upTo limit: Int) async throws -> ByteBuffer {
            if case .whole(let body) = storage {
                guard body.readableBytes <= limit else { throw HTTP1Client.Failure.bodyTooLarge }
                return body
            }
            var whole = ByteBuffer()
            for try await var part in self {
                guard whole.readableBytes + part.readableBytes <= limit else { throw HTTP1Client.Failure.bodyTooLarge }
                whole.writeBuffer(&part)
            }
            return whole
        }
    }

    /// Why a request got no answer. `shortDescription` is fit for a log line or a metric label: it
    /// never carries the URL or a header.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        enum Code: Hashable, Sendable {
            case connectFailed, connectTimeout, tlsFailed, timedOut, connectionClosed, connectionError, bodyTooLarge, cancelled, shutDown
        }
        let code: Code

        public static let connectFailed = Failure(code: .connectFailed)
        public static let connectTimeout = Failure(code: .connectTimeout)
        public static let tlsFailed = Failure(code: .tlsFailed)
        public static let timedOut = Failure(code: .timedOut)
        public static let connectionClosed = Failure(code: .connectionClosed)
        public static let connectionError = Failure(code: .connectionError)
        public static let bodyTooLarge = Failure(code: .bodyTooLarge)
        public static let cancelled = Failure(code: .cancelled)
        public static let shutDown = Failure(code: .shutDown)

        public var shortDescription: String {
            switch code {
            case .connectFailed: "connection failed"
            case .connectTimeout: "connection timed out"
            case .tlsFailed: "TLS handshake failed"
            case .timedOut: "timed out"
            case .connectionClosed: "connection closed by the server"
            case .connectionError: "connection error"
            case .bodyTooLarge: "body too large"
            case .cancelled: "cancelled"
            case .shutDown: "client shut down"
            }
        }

        public var description: String { shortDescription }
    }
}
