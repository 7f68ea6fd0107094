import { assert } from '@omnirelay/leadership-fsm';
import { ServerError } from '../errors/error-table';

/**
 * StreamLimits bound the long-lived calls one node serves. A *stream* is a streaming gRPC call
 * (Campaign, KeepAlive, Watch, WatchStream); a *watcher* is a Watch call, one watch of a
 * WatchStream call, or a Server-Sent Events request on /control/events/leadership. A Watch is
 * both, and must pass both bounds; a WatchStream call is one stream and each of its watches a
 * watcher (grpc/watch-mux-stream.ts admits them one by one).
 *
 * A *connection* is one HTTP/2 session, that is one TCP connection, named by the remote
 * `address:port` grpc-js reports (`call.getPeer()`): unique while the connection is open, and
 * its calls end (and are released) when it closes. An HTTP/1.1 connection carries one request at
 * a time, so an SSE watcher never shares one and counts only toward `watchersMax`.
 */
export interface StreamLimits {
  /** grpcStreamsPerConnectionMax bounds the open streaming gRPC calls of one client connection. */
  readonly grpcStreamsPerConnectionMax: number;
  /** grpcStreamsMax bounds the open streaming gRPC calls of this node, over every connection. */
  readonly grpcStreamsMax: number;
  /** watchersPerConnectionMax bounds the watchers (Watch calls, WatchStream watches) of one client connection. */
  readonly watchersPerConnectionMax: number;
  /** watchersMax bounds the watchers of this node: Watch calls and SSE requests together. */
  readonly watchersMax: number;
}

/** StreamLimitName names one bound of StreamLimits (the `limit` label of its refusal metric). */
export type StreamLimitName = keyof StreamLimits;

/** STREAM_LIMIT_NAMES lists every StreamLimitName. */
export const STREAM_LIMIT_NAMES: readonly StreamLimitName[] = [
  'grpcStreamsPerConnectionMax',
  'grpcStreamsMax',
  'watchersPerConnectionMax',
  'watchersMax',
];

/** STREAM_LIMITS_DEFAULT are the bounds when none are configured. */
export const STREAM_LIMITS_DEFAULT: StreamLimits = {
  grpcStreamsPerConnectionMax: 2_000,
  grpcStreamsMax: 20_000,
  watchersPerConnectionMax: 1_000,
  watchersMax: 10_000,
};

/** StreamClaim is what one call asks to hold while it is open. */
export interface StreamClaim {
  /** stream: the call is a streaming gRPC call. */
  readonly stream: boolean;
  /** watcher: the call watches holder changes. */
  readonly watcher: boolean;
  /**
   * connection names the client connection it came on; undefined counts it only toward the
   * node-wide bounds (an SSE request, or a call a follower forwarded, whose own connection
   * carries the calls of many clients and was bounded where each client connected).
   */
  readonly connection: string | undefined;
}

interface ConnectionCount {
  streams: number;
  watchers: number;
}

/**
 * StreamLimiter counts the open streams and watchers of one node, in total and per connection,
 * and refuses a call that would pass a bound with LIMIT_REACHED (gRPC RESOURCE_EXHAUSTED, HTTP
 * 429) naming the bound and its value. Each admitted call holds its place until it calls its
 * release, once, when it ends for any reason.
 */
export class StreamLimiter {
  private streams = 0;
  private watchers = 0;
  private readonly connections = new Map<string, ConnectionCount>();

  constructor(
    private readonly limits: StreamLimits,
    /** onRefused hears each refusal, by the bound that refused it (metrics). */
    private readonly onRefused: (limit: StreamLimitName) => void = () => undefined,
  ) {
    validateStreamLimits(limits);
  }

  /** streamCount is the number of open streaming gRPC calls. */
  get streamCount(): number {
    return this.streams;
  }

  /** watcherCount is the number of open watchers (Watch calls and SSE requests). */
  get watcherCount(): number {
    return this.watchers;
  }

  /** connectionCount is the number of client connections with an admitted call open. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * admit counts a call in, or throws LIMIT_REACHED, counting nothing, when it would pass a bound.
   * It returns the call's release, which may be called any number of times and counts it out once.
   */
  admit(claim: StreamClaim): () => void {
    const perConnection = claim.connection === undefined ? undefined : this.connections.get(claim.connection);
    if (claim.stream) {
      this.check('grpcStreamsMax', this.streams);
      if (claim.connection !== undefined)
        this.check('grpcStreamsPerConnectionMax', perConnection?.streams ?? 0);
    }
    if (claim.watcher) {
      this.check('watchersMax', this.watchers);
      if (claim.connection !== undefined)
        this.check('watchersPerConnectionMax', perConnection?.watchers ?? 0);
    }
    const streams = claim.stream ? 1 : 0;
    const watchers = claim.watcher ? 1 : 0;
    this.streams += streams;
    this.watchers += watchers;
    let counted: ConnectionCount | undefined;
    if (claim.connection !== undefined) {
      counted = perConnection ?? { streams: 0, watchers: 0 };
      counted.streams += streams;
      counted.watchers += watchers;
      this.connections.set(claim.connection, counted);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.streams -= streams;
      this.watchers -= watchers;
      assert(
        this.streams >= 0 && this.watchers >= 0,
        () => `stream counts below zero: streams(${this.streams}) watchers(${this.watchers})`,
      );
      if (counted === undefined || claim.connection === undefined) return;
      counted.streams -= streams;
      counted.watchers -= watchers;
      if (counted.streams === 0 && counted.watchers === 0) this.connections.delete(claim.connection);
    };
  }

  /** check throws LIMIT_REACHED when one more would pass `name`. */
  private check(name: StreamLimitName, open: number): void {
    const max = this.limits[name];
    if (open < max) return;
    this.onRefused(name);
    throw limitReached(name, max, describe(name));
  }
}

/**
 * limitReached is the error of a call refused by a named bound: LIMIT_REACHED, with the bound's
 * name and value in the message and in the details (`limitName`, `limitValue`).
 */
export function limitReached(name: string, value: number, what: string): ServerError {
  return new ServerError(
    'LIMIT_REACHED',
    `${what}: limit ${name} (${value}) reached; close some, or retry later or on another node`,
    { limitName: name, limitValue: value },
  );
}

function describe(name: StreamLimitName): string {
  switch (name) {
    case 'grpcStreamsPerConnectionMax':
      return 'too many open streams on this connection';
    case 'grpcStreamsMax':
      return 'too many open streams on this node';
    case 'watchersPerConnectionMax':
      return 'too many watchers on this connection';
    case 'watchersMax':
      return 'too many watchers on this node';
  }
}

/** validateStreamLimits refuses a bound that is not a positive safe integer, naming it. */
export function validateStreamLimits(limits: StreamLimits): void {
  for (const name of STREAM_LIMIT_NAMES) {
    const value = limits[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ServerError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${String(value)}`);
    }
  }
}
