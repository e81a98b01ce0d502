import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Bounds what the server reads of a request body it has already answered (a 413, a 401): the
/// rest is read and dropped, so that a client that sends its whole body before reading still reads
/// the answer, but only up to `maxBytes` or for `maxSeconds` after the answer is complete; then
/// the connection is closed. Without it the server would read an endless body to its end.
final class BodyDrainLimit: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let maxBytes = 64 << 20
    static let maxSeconds: Int64 = 5

    private let maxBytes: Int
    private let maxSeconds: Int64
    /// The request's body is still arriving.
    private var receiving = false
    /// The answer went out before the body had all arrived: what arrives now is drained.
    private var answered = false
    private var answerComplete = false
    private var drained = 0
    private var deadline: Scheduled<Void>?

    init(maxBytes: Int = BodyDrainLimit.maxBytes, maxSeconds: Int64 = BodyDrainLimit.maxSeconds) {
        self.maxBytes = maxBytes
        self.maxSeconds = maxSeconds
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            receiving = true
            answered = false
            answerComplete = false
            drained = 0
        case .body(let buffer):
            if answered {
                drained += buffer.readableBytes
                if drained > maxBytes, answerComplete {
                    close(context)
                    return
                }
            }
        case .end:
            receiving = false
            answered = false
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head:
            if receiving { answered = true }
        case .end:
            if answered {
                answerComplete = true
                let written = promise ?? context.eventLoop.makePromise()
                context.write(data, promise: written)
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                written.futureResult.whenSuccess { _ in
                    let (handler, context) = bound.value
                    handler.answerWritten(context)
                }
                return
            }
        case .body:
            break
        }
        context.write(data, promise: promise)
    }

    /// The answer is out; what remains of the body gets `maxSeconds`, and no more than `maxBytes`.
    private func answerWritten(_ context: ChannelHandlerContext) {
        if drained > maxBytes {
            close(context)
        } else if receiving {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: .seconds(maxSeconds)) {
                let (handler, context) = bound.value
                handler.close(context)
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    private func close(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        guard receiving else { return }
        receiving = false
        context.close(promise: nil)
    }
}
