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
 * `access` is the request's credentials and the caller they name (currentPrincipal), if any.
 */
export function withRequest<T>(
  transport: string,
  headers: (name: string) => string | undefined,
  fn: () => T,
  access: { readonly credentials?: Credentials; readonly principal?: Principal | undefined } = {},
): T {
  const { credentials, principal } = access;
  return origin.run(
    {
      transport,
      headers,
      ...(credentials === undefined ? {} : { credentials }),
      ...(principal === undefined ? {} : { principal }),
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
