import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { StreamLimiter } from '../limits/stream-limiter';
import { currentCredentials, currentTransport } from '../leadership/request-origin';
import { GRPC_TRANSPORT, recordCall } from './call-log';
import { toServiceError } from './errors';
import { FORWARDED_BY_METADATA_KEY } from './forwarder';

/** LIMITED_STREAMS are the streaming methods of the Leadership service, and which of them watch. */
export const LIMITED_STREAMS: Readonly<Record<string, { readonly watcher: boolean }>> = {
  Campaign: { watcher: false },
  KeepAlive: { watcher: false },
  Watch: { watcher: true },
  // A WatchStream call is one stream; each watch on it counts as a watcher (watch-mux-stream.ts).
  WatchStream: { watcher: false },
  // A Calls call is one stream, however many unary calls it carries.
  Calls: { watcher: false },
};

type StreamCall = grpc.ServerWritableStream<unknown, object> | grpc.ServerDuplexStream<unknown, object>;

/**
 * connectionOf names the client connection (HTTP/2 session) a call came on: its remote
 * `address:port`, unique while the connection is open. A call a member node forwarded has none:
 * the follower's one connection carries the calls of all its clients, each of which the follower
 * bounded on the client's own connection, so it counts only toward the node-wide bounds. Only a
 * connection that presents a member node certificate, or a plaintext port (loopback development),
 * is believed when it says a call was forwarded: a client cannot escape the per-connection bound
 * by sending `x-omnirelay-forwarded-by`. A call whose connection is already gone ('unknown') is
 * about to end and counts toward the node-wide bounds only.
 */
export function connectionOf(call: StreamCall): string | undefined {
  const fromNode =
    currentCredentials()?.certificate?.kind === 'node' || currentTransport() === GRPC_TRANSPORT;
  if (fromNode && call.metadata.get(FORWARDED_BY_METADATA_KEY).length > 0) return undefined;
  const peer = call.getPeer();
  return peer === 'unknown' ? undefined : peer;
}

/**
 * admitStreams wraps the streaming methods of `impl` listed in LIMITED_STREAMS: a call is
 * counted in by the limiter before its handler runs, and counted out when its HTTP/2 stream
 * closes, whatever ended it (grpc-js emits 'cancelled' on every close: after the status went out,
 * on a client reset, and when a keepalive timeout destroys the connection). A call past a bound
 * is answered RESOURCE_EXHAUSTED (LIMIT_REACHED, naming the bound and its value) and never
 * reaches its handler.
 */
export function admitStreams(
  impl: grpc.UntypedServiceImplementation,
  limiter: StreamLimiter,
  logger: Logger,
): grpc.UntypedServiceImplementation {
  const wrapped: grpc.UntypedServiceImplementation = { ...impl };
  for (const [name, { watcher }] of Object.entries(LIMITED_STREAMS)) {
    const handler = impl[name] as ((call: StreamCall) => void) | undefined;
    if (handler === undefined) continue;
    wrapped[name] = ((call: StreamCall) => {
      let release: () => void;
      try {
        release = limiter.admit({ stream: true, watcher, connection: connectionOf(call) });
      } catch (e) {
        const error = toServiceError(e);
        recordCall(logger, name, error, e);
        call.emit('error', error);
        return;
      }
      call.once('cancelled', release);
      if (call.cancelled) release();
      handler(call);
    }) as grpc.UntypedHandleCall;
  }
  return wrapped;
}
