import NIOCore
import NIOHTTP1
import NIOSSL

/// One request and its answer on a connection, as the connection's handler sees it.
///
/// The answer is handed to the caller when the read that brought its head ends: whole when its
/// end came in the same read (most answers do, and then no body sequence is made for it), or with
/// a body sequence that the rest of its parts go to.
///
/// Touched only on the connection's event loop (hence `@unchecked Sendable`: the task that made it
/// hands it to the loop once and then holds only the answer's future and the body's sequence).
final class HTTP1Exchange: @unchecked Sendable {
    let answer: EventLoopPromise<Answer>
    /// Set once the answer has been handed over with a body still arriving.
    var source: HTTP1Client.ResponseBody.Producer.Source?
    var headReceived = false
    /// The head, and the body parts read with it, until the answer is handed over.
    var heldHead: HTTPResponseHead?
    var heldBody: ByteBuffer?
    /// Whether the request is whole on the wire: its end written, or the last byte of a body of
    /// known length (the server may answer in full before the caller's end part reaches the loop).
    var requestEnded = false
    var bodyBytesLeft: Int64?
    var responseEnded = false
    var timeout: Scheduled<Void>?

    /// An answer's head and its body.
    struct Answer: Sendable {
        let head: HTTPResponseHead
        let body: HTTP1Client.ResponseBody
    }

    init(answer: EventLoopPromise<Answer>) {
        self.answer = answer
    }

    /// Hands over an answer whose end has been read: its body whole.
    func handOverWhole() {
        guard let head = heldHead else { return }
        heldHead = nil
        let body = heldBody ?? ByteBuffer()
        heldBody = nil
        answer.succeed(Answer(head: head, body: HTTP1Client.ResponseBody(storage: .whole(body))))
    }

    /// Ends the exchange with `error`: the answer's waiter or the body's reader gets it.
    func fail(_ error: any Error) {
        guard !responseEnded else { return }
        responseEnded = true
        timeout?.cancel()
        if let source {
            source.finish(error)
            return
        }
        guard !headReceived else {
            // Cut short within the read that brought the head: the answer was never handed over.
            heldHead = nil
            heldBody = nil
            answer.fail(error)
            return
        }
        // A connection lost before any answer: whether the request may be sent again depends on
        // how much of it went out, and is the client's to decide.
        if let failure = error as? HTTP1Client.Failure, failure == .connectionClosed || failure == .connectionError {
            answer.fail(HTTP1Client.Unanswered(failure: failure, requestSent: requestEnded))
        } else {
            answer.fail(error)
        }
    }
}

/// The body sequence's side of back-pressure: the reader wants more, or has gone.
struct HTTP1BodyDelegate: NIOAsyncSequenceProducerDelegate {
    let handler: HTTP1ExchangeHandler
    let exchange: HTTP1Exchange
    let eventLoop: any EventLoop

    func produceMore() {
        eventLoop.execute { handler.resumeReading(for: exchange) }
    }

    func didTerminate() {
        eventLoop.execute { handler.readerGone(from: exchange) }
    }
}

/// The last handler of a pooled connection: it writes an exchange's request, hands the answer's
/// head and body parts to the exchange, holds reads while the body's reader is behind, and puts
/// the connection back in its pool when an exchange has ended, or closes it when it cannot be reused.
///
/// Touched only on its channel's event loop; `@unchecked Sendable` so that the client can hold it.
final class HTTP1ExchangeHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let key: HTTP1Client.PoolKey
    private let pool: HTTP1ConnectionPool
    /// Set when the handler joins its pipeline, before the connection is first used.
    private(set) var channel: (any Channel)?
    private var context: ChannelHandlerContext?
    private var exchange: HTTP1Exchange?
    private var keepAlive = true
    private var paused = false
    private var readPending = false

    init(key: HTTP1Client.PoolKey, pool: HTTP1ConnectionPool) {
        self.key = key
        self.pool = pool
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        channel = context.channel
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Starts `exchange`: writes `parts` (the whole request when its body is in hand, else its head)
    /// and arms the deadline. False when the connection has closed meanwhile.
    func begin(_ exchange: HTTP1Exchange, parts: [HTTPClientRequestPart], deadline: NIODeadline) -> Bool {
        guard let context, context.channel.isActive, self.exchange == nil else { return false }
        self.exchange = exchange
        keepAlive = true
        paused = false
        exchange.timeout = context.eventLoop.scheduleTask(deadline: deadline) { [weak self] in
            self?.abort(exchange, HTTP1Client.Failure.timedOut)
        }
        for part in parts {
            let promise: EventLoopPromise<Void>?
            if case .end = part {
                promise = context.eventLoop.makePromise()
                promise!.futureResult.whenSuccess { exchange.requestEnded = true }
            } else {
                promise = nil
            }
            context.write(wrapOutboundOut(part), promise: promise)
        }
        context.flush()
        return true
    }

    /// Writes one more part of a streamed request body (or its end); the future completes when the
    /// part has been written, so a stream is sent no faster than the socket takes it.
    func write(_ part: HTTPClientRequestPart, for exchange: HTTP1Exchange) -> EventLoopFuture<Void> {
        guard let context, self.exchange === exchange else {
            return (context?.eventLoop ?? exchange.answer.futureResult.eventLoop).makeFailedFuture(HTTP1Client.Failure.connectionClosed)
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        switch part {
        case .end:
            promise.futureResult.whenSuccess { exchange.requestEnded = true }
        case .body(let data):
            if let left = exchange.bodyBytesLeft {
                let remaining = left - Int64(data.readableBytes)
                exchange.bodyBytesLeft = remaining
                if remaining <= 0 { promise.futureResult.whenSuccess { exchange.requestEnded = true } }
            }
        case .head:
            break
        }
        context.writeAndFlush(wrapOutboundOut(part), promise: promise)
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // An answer nobody asked for: the connection cannot be trusted any more.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            // Interim answers (100 Continue, 103 Early Hints) precede the real one.
            if head.status.code >= 100, head.status.code < 200, head.status != .switchingProtocols { return }
            keepAlive = head.isKeepAlive
            exchange.headReceived = true
            // Handed over when this read ends (`channelReadComplete`), or at the answer's end if sooner.
            exchange.heldHead = head
        case .body(var part):
            if let source = exchange.source {
                if source.yield(part) == .stopProducing { paused = true }
            } else if exchange.heldBody == nil {
                exchange.heldBody = part
            } else {
                exchange.heldBody!.writeBuffer(&part)
            }
        case .end:
            exchange.responseEnded = true
            exchange.timeout?.cancel()
            self.exchange = nil
            paused = false
            // Back in the pool before the reader hears of the end, so that its next call finds it.
            if keepAlive, exchange.requestEnded {
                pool.put(self)
            } else {
                context.close(promise: nil)
            }
            if let source = exchange.source {
                source.finish()
            } else {
                exchange.handOverWhole()
            }
        }
    }

    /// The read that brought an answer's head has ended without its end: the answer is handed
    /// over with a body sequence, which the parts read so far start.
    func channelReadComplete(context: ChannelHandlerContext) {
        if let exchange, exchange.source == nil, let head = exchange.heldHead {
            let producer = HTTP1Client.ResponseBody.Producer.makeSequence(
                backPressureStrategy: .init(lowWatermark: 4, highWatermark: 16), finishOnDeinit: true,
                delegate: HTTP1BodyDelegate(handler: self, exchange: exchange, eventLoop: context.eventLoop))
            exchange.source = producer.source
            exchange.heldHead = nil
            if let held = exchange.heldBody {
                exchange.heldBody = nil
                if producer.source.yield(held) == .stopProducing { paused = true }
            }
            exchange.answer.succeed(HTTP1Exchange.Answer(head: head, body: HTTP1Client.ResponseBody(storage: .stream(producer.sequence))))
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if paused {
            readPending = true
        } else {
            context.read()
        }
    }

    func resumeReading(for exchange: HTTP1Exchange) {
        guard self.exchange === exchange, paused else { return }
        paused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    /// The body's reader stopped before the answer's end: the rest cannot be skipped reliably, so
    /// the connection closes.
    func readerGone(from exchange: HTTP1Exchange) {
        guard self.exchange === exchange, !exchange.responseEnded else { return }
        abort(exchange, HTTP1Client.Failure.cancelled)
    }

    /// Ends `exchange` with `error` and closes the connection.
    func abort(_ exchange: HTTP1Exchange, _ error: any Error) {
        guard self.exchange === exchange else { return }
        self.exchange = nil
        exchange.fail(error)
        context?.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let exchange {
            self.exchange = nil
            exchange.fail(HTTP1Client.Failure.connectionClosed)
        }
        pool.remove(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let exchange {
            self.exchange = nil
            let tls = error is NIOSSLError || error is BoringSSLError
            exchange.fail(tls ? HTTP1Client.Failure.tlsFailed : HTTP1Client.Failure.connectionError)
        }
        context.close(promise: nil)
    }
}
