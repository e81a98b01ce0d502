import NIOCore
import NIOSSL
import NIOTLS

/// Completes `done` when a new connection's TLS handshake has: connecting to an `https` target
/// includes its handshake, so that a certificate the client does not trust is a connect failure
/// (`Failure.tlsFailed`) and not a lost exchange. Removes itself once it has answered.
final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let done: EventLoopPromise<Void>

    init(done: EventLoopPromise<Void>) {
        self.done = done
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            done.succeed()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(HTTP1Client.Failure.tlsFailed)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(HTTP1Client.Failure.tlsFailed)
        context.fireChannelInactive()
    }
}
