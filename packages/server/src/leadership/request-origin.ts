import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * INTERNAL_TRANSPORT names writes the server makes by itself (expiry, the take-office grace,
 * renewal batches, release-on-reset), which no client request carried.
 */
export const INTERNAL_TRANSPORT = 'internal';

const origin = new AsyncLocalStorage<{ readonly transport: string }>();

/**
 * withTransport runs `fn` (and everything it starts, across awaits) as work for a request that
 * arrived over `transport` ('h2c', 'HTTP/1.1', ... or INTERNAL_TRANSPORT). The edges call it
 * once per request, so the service records the transport with each write it replicates and
 * every audit event says how its request arrived, with no parameter threaded through the calls.
 */
export function withTransport<T>(transport: string, fn: () => T): T {
  return origin.run({ transport }, fn);
}

/** currentTransport is the transport of the request being served, or INTERNAL_TRANSPORT. */
export function currentTransport(): string {
  return origin.getStore()?.transport ?? INTERNAL_TRANSPORT;
}
