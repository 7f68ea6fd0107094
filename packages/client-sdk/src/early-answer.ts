import * as grpc from '@grpc/grpc-js';

/**
 * answerOnMessage is a grpc-js client interceptor for one unary call that hands its decoded
 * response message to `onMessage` the moment it arrives, before the call's status.
 *
 * A grpc-js server sends a unary response in two parts: the message, then — once the message's
 * write has completed, at least one more turn of its event loop later — the status in the
 * HTTP/2 trailers; grpc-js calls a unary callback only with the status. On a Raft leader those
 * turns fall among the work of the same write (the other follower's acknowledgement, the
 * leader's own synced write, the commit sent to the followers), so the trailers reached the
 * client about 1.5 ms after the message (median, c=1, bench/README.md "edge"). Every server of
 * the public API (grpc-js's unary handler, and a follower relaying the leader's answer) sends a
 * response message only for a call that succeeded, and an OK status right after it, so the
 * message alone is the answer: the call is not cancelled and its status, when it comes, is only
 * read by grpc-js. A call that ends without a message is answered by its status, as before.
 */
export function answerOnMessage(onMessage: (message: unknown) => void): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, _listener, next) =>
        next(metadata, {
          onReceiveMessage: (message: unknown, nextMessage: (message: unknown) => void) => {
            // grpc-js passes null up a unary call that ended without a message, just before its status.
            if (message !== null) onMessage(message);
            nextMessage(message);
          },
        }),
    });
}
