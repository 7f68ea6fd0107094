import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, TextMapGetter } from '@opentelemetry/api';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Credentials } from '../auth/access-control';
import type { Principal } from '../auth/principal';

/**
 * INTERNAL_TRANSPORT names writes the server makes by itself (expiry, the take-office grace,
 * renewal batches, release-on-reset), which no client request carried.
 */
export const INTERNAL_TRANSPORT = 'internal';

/**
 * FORWARDED_BY_HEADER (a gRPC metadata key and an HTTP header) names the member that forwarded a
 * request, so it is never forwarded twice and the member it reaches knows who sent it on.
 */
export const FORWARDED_BY_HEADER = 'x-omnirelay-forwarded-by';

/** RequestOrigin is what the server knows of the request it is serving. */
export interface RequestOrigin {
  /** transport is how the request arrived: 'h2', 'http/1.1' (TLS), 'h2c', 'HTTP/1.1' (plaintext), or INTERNAL_TRANSPORT. */
  readonly transport: string;
  /** headers looks up the request's headers (the caller's W3C traceparent/tracestate), if any. */
  readonly headers?: (name: string) => string | undefined;
  /** credentials are what the request brought to prove who sent it (a follower forwards them). */
  readonly credentials?: Credentials;
  /** principal is the caller access control named (absent: anonymous), recorded with its writes. */
  readonly principal?: Principal;
  /**
   * takesHandOff: the edge forwards a write refused with a hand-off (LeadershipService.handOff) to
   * the transfer's target and bounds its wait there (the gRPC edge); absent, such a write waits on
   * this node for the transfer to end.
   */
  readonly takesHandOff?: boolean;
  /**
   * handedBackBy is the leader this member forwarded the request to, which answered NOT_LEADER
   * naming this member: it is handing leadership here (LeadershipService.handOff). The request is
   * then served here once more (handBackOf), and a write waits for that leader's term to end
   * rather than going back to it.
   */
  readonly handedBackBy?: string;
}

const origin = new AsyncLocalStorage<RequestOrigin>();
const propagator = new W3CTraceContextPropagator();

/** HEADER_GETTER reads trace headers through the edge's lookup function. */
const HEADER_GETTER: TextMapGetter<(name: string) => string | undefined> = {
  get: (lookup, key) => lookup(key),
  keys: () => ['traceparent', 'tracestate'],
};

/**
 * withRequest runs `fn` (and everything it starts, across awaits) as work for a request that
 * arrived over `transport`, carrying the W3C trace headers `headers` (traceparent, tracestate;
 * absent or malformed ones are ignored). The edges call it once per request, so the service
 * records the transport with each write it replicates, every audit event says how its request
 * arrived, and the write's span joins the caller's trace, with no parameter threaded through.
 * `access` is the request's credentials and the caller they name (currentPrincipal), if any, and
 * whether the edge forwards a hand-off (RequestOrigin.takesHandOff).
 */
export function withRequest<T>(
  transport: string,
  headers: (name: string) => string | undefined,
  fn: () => T,
  access: {
    readonly credentials?: Credentials;
    readonly principal?: Principal | undefined;
    readonly takesHandOff?: boolean;
  } = {},
): T {
  const { credentials, principal, takesHandOff } = access;
  return origin.run(
    {
      transport,
      headers,
      ...(credentials === undefined ? {} : { credentials }),
      ...(principal === undefined ? {} : { principal }),
      ...(takesHandOff === true ? { takesHandOff } : {}),
    },
    fn,
  );
}

/** currentPrincipal is the authenticated caller of the request being served (undefined: anonymous or the server itself). */
export function currentPrincipal(): Principal | undefined {
  return origin.getStore()?.principal;
}

/** currentCredentials are the credentials of the request being served (what a follower forwards). */
export function currentCredentials(): Credentials | undefined {
  return origin.getStore()?.credentials;
}

/** withTransport runs `fn` as work with no caller trace (the server's own writes). */
export function withTransport<T>(transport: string, fn: () => T): T {
  return origin.run({ transport }, fn);
}

/**
 * currentForwardedBy is the member that forwarded the request being served (its
 * FORWARDED_BY_HEADER), or undefined for a request a client sent here itself and for the
 * server's own writes. A client can set the header too; it then only changes how its own
 * request is routed, never what the request may do (access control checks the credentials).
 */
export function currentForwardedBy(): string | undefined {
  return origin.getStore()?.headers?.(FORWARDED_BY_HEADER);
}

/**
 * handBackOf captures the request being served, and returns what runs `serve` as that request once
 * more after `leader` handed it back (RequestOrigin.handedBackBy): the forwarder's answer arrives
 * outside the request's async context. It keeps the origin only (the other state a request's
 * work reads, such as its trace context, derives from it), and costs one closure: the forwarded
 * calls of a follower each take one, where AsyncResource.bind cost ~9 µs a call.
 */
export function handBackOf(serve: () => void): (leader: string) => void {
  const request = origin.getStore() ?? { transport: INTERNAL_TRANSPORT };
  return (leader) => origin.run({ ...request, handedBackBy: leader }, serve);
}

/** currentHandedBackBy is the leader that handed the request being served back here (RequestOrigin.handedBackBy), if any. */
export function currentHandedBackBy(): string | undefined {
  return origin.getStore()?.handedBackBy;
}

/** currentTakesHandOff tells whether the edge serving the request forwards a hand-off (RequestOrigin.takesHandOff). */
export function currentTakesHandOff(): boolean {
  return origin.getStore()?.takesHandOff === true;
}

/** currentTransport is the transport of the request being served, or INTERNAL_TRANSPORT. */
export function currentTransport(): string {
  return origin.getStore()?.transport ?? INTERNAL_TRANSPORT;
}

/**
 * currentTraceContext is the caller's trace context (ROOT_CONTEXT when it sent none). It is
 * parsed here, when a span asks for it, not per request: with tracing off (the default) no
 * request pays for it.
 */
export function currentTraceContext(): Context {
  const headers = origin.getStore()?.headers;
  return headers === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, headers, HEADER_GETTER);
}
