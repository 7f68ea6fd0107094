import * as grpc from '@grpc/grpc-js';

/** ClientEnd is how a client ended its side of a bidirectional stream. */
export type ClientEnd = 'halfClosed' | 'reset';

/**
 * CLIENT_END_SETTLE_MS is how long after the end of a client's request side the server waits
 * for a reset to follow before it takes the end as a clean half-close. A grpc-js (Node.js) client
 * that cancels sends END_STREAM and then RST_STREAM, and the RST_STREAM was measured arriving
 * 20-190 ms later on loopback (it waits for the write before it); a client that only resets
 * needs no wait. A clean half-close thus gets its final OK this much later (the answers to its
 * requests are not delayed). A reset that arrives later still counts as a half-close, which is
 * the safe side: the leases then keep their TTL.
 */
export const CLIENT_END_SETTLE_MS = 500;

/**
 * onClientEnd tells, once, how the client ended its side of a bidirectional call: a clean
 * half-close (a deliberate stop), or a reset (cancelled, connection lost).
 *
 * Neither grpc-js event says it alone: the request side ends ('end') on a half-close and on a
 * reset alike, and grpc-js emits 'cancelled' after every status it sends, so 'cancelled' means a
 * reset only while the call is open. So a 'cancelled' that comes first is a reset; an 'end' is
 * judged CLIENT_END_SETTLE_MS later, after sendMetadata (the one public call that makes grpc-js
 * check the stream; otherwise it only sends the response headers early, once) had a tick to mark
 * a reset stream cancelled.
 */
export function onClientEnd(
  call: grpc.ServerDuplexStream<unknown, object>,
  ended: (how: ClientEnd) => void,
): void {
  let told = false;
  let settle: NodeJS.Timeout | undefined;
  const tell = (how: ClientEnd): void => {
    if (told) return;
    told = true;
    clearTimeout(settle);
    ended(how);
  };
  call.on('cancelled', () => tell('reset'));
  call.on('end', () => {
    settle ??= setTimeout(() => {
      if (!call.cancelled) call.sendMetadata(new grpc.Metadata());
      setImmediate(() => tell(call.cancelled ? 'reset' : 'halfClosed'));
    }, CLIENT_END_SETTLE_MS);
  });
}
