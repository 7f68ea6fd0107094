import * as grpc from '@grpc/grpc-js';
import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import { hopLedger } from '@omnirelay/raft';
import type { Logger } from 'pino';
import { forwardedCredentials } from '../auth/access-control';
import { ServerError } from '../errors/error-table';
import { TRANSFER_WAIT_MS } from '../leadership/leadership-service';
import { FORWARDED_BY_HEADER, currentCredentials } from '../leadership/request-origin';
import { DETAIL_METADATA_KEYS, ERROR_CODE_METADATA_KEY, toServiceError } from './errors';
import type { ForwardedAnswer } from './forward-stream';
import { ForwardMux } from './forward-mux';
import { rawBytesOf } from './malformed';
import { loadPublicApi } from './proto';
import type { ProxyHooks, StreamProxy } from './stream-proxy';
import { proxyBidiStream, proxyServerStream } from './stream-proxy';

/** FORWARDED_BY_METADATA_KEY marks a call a member forwarded, so it is never forwarded twice (FORWARDED_BY_HEADER). */
export const FORWARDED_BY_METADATA_KEY = FORWARDED_BY_HEADER;
/** FORWARDED_TO_METADATA_KEY is the response header that names the leader that served a forwarded call. */
export const FORWARDED_TO_METADATA_KEY = 'x-omnirelay-forwarded-to';
/**
 * GRPC_FORWARD_UNARY_TIMEOUT_MS bounds a forwarded unary call when the client set no shorter
 * deadline (above the default 5 s proposal deadline and the 3 s leadership transfer).
 */
export const GRPC_FORWARD_UNARY_TIMEOUT_MS = 10_000;
/**
 * DEPOSED_LEADER_ANSWER_GRACE_MS is how long a unary call forwarded to a leader that has since lost
 * office may still wait for its answer once this node knows the next leader. A live old leader
 * answers within a few milliseconds of the change (a forwarded TransferLeadership is answered only
 * after it, by design); a frozen or cut-off one never does, and the call then ends UNAVAILABLE.
 */
export const DEPOSED_LEADER_ANSWER_GRACE_MS = 1000;

/**
 * HAND_OFF_ANSWER_MS_MAX bounds how long a leader waits for the answer to a write it handed to its
 * transfer's target (LeadershipService.handOff) while that target does not lead: the target keeps
 * such a write for at most TRANSFER_WAIT_MS, then answers it; one that has not answered by then
 * and a grace after it is taken for unreachable.
 */
export const HAND_OFF_ANSWER_MS_MAX = TRANSFER_WAIT_MS + DEPOSED_LEADER_ANSWER_GRACE_MS;

/** FORWARD_RECONNECT_MS_MIN and FORWARD_RECONNECT_MS_MAX bound a forwarding channel's reconnect backoff (as the peer links'). */
const FORWARD_RECONNECT_MS_MIN = 20;
const FORWARD_RECONNECT_MS_MAX = 1000;

/** ForwardTarget is the leader a call goes to: its id and public gRPC address. */
export interface ForwardTarget {
  readonly leaderId: string;
  readonly address: string;
}

/** Route says how to serve a call that needs the leader: here, on the leader, or not at all. */
export type Route =
  | { readonly kind: 'local' }
  | { readonly kind: 'forward'; readonly target: ForwardTarget }
  | { readonly kind: 'notLeader' };

/** GrpcForwarderOptions is what a GrpcForwarder needs. */
export interface GrpcForwarderOptions {
  readonly node: RaftNode<ApplyResult>;
  /** leaderGrpcAddress is a member's public gRPC address (--peer-grpc), undefined when not configured. */
  readonly leaderGrpcAddress: (nodeId: string) => string | undefined;
  /** notLeader builds the NOT_LEADER answered when a call cannot be forwarded. */
  readonly notLeader: () => ServerError;
  readonly logger: Logger;
  /** onForwarded hears each call forwarded (metrics). */
  readonly onForwarded?: () => void;
  /**
   * credentials are those of the channel to `leaderId`'s public gRPC port: TLS when the client
   * ports speak TLS (grpcForwardingCredentials); absent, plaintext h2c.
   */
  readonly credentials?: (leaderId: string) => grpc.ChannelCredentials;
}

/** LeaderChangeListener hears the Raft leader a proxied stream's node now knows ('' when none). */
export type LeaderChangeListener = (leaderId: string) => void;

const identity = (bytes: Buffer): Buffer => bytes;

/** isReserved tells a transport header grpc-js sets itself, which relaying would duplicate. */
function isReserved(key: string): boolean {
  return (
    key.startsWith('grpc-') ||
    key.startsWith(':') ||
    ['content-type', 'te', 'user-agent', 'date'].includes(key)
  );
}

/** relayableMetadata copies the application metadata of an upstream answer (headers or trailers). */
export function relayableMetadata(from: grpc.Metadata | undefined): grpc.Metadata {
  const out = new grpc.Metadata();
  if (from === undefined) return out;
  for (const [key, values] of Object.entries(from.getMap())) {
    if (isReserved(key)) continue;
    out.set(key, values);
  }
  return out;
}

/**
 * GrpcForwarder sends a call that landed on a follower to the Raft leader's public gRPC port,
 * once, and relays the answer (DESIGN.md "Clients talk to the leader"). It keeps one client
 * channel per leader address (at most one per configured member), closed by `close`. A call is
 * forwarded only when this node does not lead, knows the leader and its gRPC address, and the
 * call was not already forwarded (metadata `x-omnirelay-forwarded-by`); otherwise, or when the
 * leader cannot be reached, the caller answers NOT_LEADER as before.
 */
export class GrpcForwarder {
  private readonly clients = new Map<string, grpc.Client>();
  private readonly muxes = new Map<string, ForwardMux>();
  private readonly methods = new Map<string, grpc.MethodDefinition<unknown, unknown>>();
  private readonly leaderListeners = new Set<LeaderChangeListener>();
  private readonly onLeader = (leaderId: string): void => {
    if (leaderId !== '') this.connectAll();
    for (const listener of [...this.leaderListeners]) listener(leaderId);
  };
  private closed = false;

  constructor(private readonly options: GrpcForwarderOptions) {
    const api = loadPublicApi();
    for (const definition of [api.leadership.definition, api.cluster.definition]) {
      for (const [name, method] of Object.entries(definition)) this.methods.set(name, method);
    }
    options.node.on('leader', this.onLeader);
  }

  /** selfId is this node's id (what `x-omnirelay-forwarded-by` carries). */
  get selfId(): string {
    return this.options.node.id;
  }

  /** route decides, cheaply and up front, how to serve a call that needs the leader. */
  route(metadata: grpc.Metadata): Route {
    if (this.options.node.isLeader) return { kind: 'local' };
    const target = this.target(metadata);
    return target === undefined ? { kind: 'notLeader' } : { kind: 'forward', target };
  }

  /** target is where a call would be forwarded now (the leader), or undefined when it cannot be. */
  target(metadata: grpc.Metadata): ForwardTarget | undefined {
    return this.options.node.isLeader ? undefined : this.targetOf(metadata, this.options.node.leaderId);
  }

  /**
   * targetOf is member `to` as the target of a call with `metadata`, or undefined when the call
   * cannot go there: this forwarder is closed, the call was already forwarded, `to` is none or
   * this node, or its public gRPC address is unknown.
   */
  private targetOf(metadata: grpc.Metadata, to: string): ForwardTarget | undefined {
    const { node } = this.options;
    if (this.closed || metadata.get(FORWARDED_BY_METADATA_KEY).length > 0) return undefined;
    if (to === '' || to === node.id) return undefined;
    const address = this.options.leaderGrpcAddress(to);
    return address === undefined || address === '' ? undefined : { leaderId: to, address };
  }

  /** notLeaderStatus is the NOT_LEADER status answered when a call cannot be forwarded. */
  notLeaderStatus(): grpc.StatusObject {
    return toServiceError(this.options.notLeader());
  }

  /**
   * forwardUnary forwards a unary call that failed here with NOT_LEADER to `to`, the member the
   * refusal named (the leader; while this node hands leadership over, the transfer's target), and
   * answers it with that member's answer or status. It returns false, having done nothing, when
   * the call cannot be forwarded; the caller then answers NOT_LEADER itself. A NOT_LEADER that
   * names this node (the leader is handing leadership here: LeadershipService.handOff) is not
   * relayed: `serveHere` serves the call here once more, and it answers the call.
   */
  forwardUnary(
    method: string,
    call: grpc.ServerUnaryCall<unknown, object>,
    callback: grpc.sendUnaryData<object>,
    to: string,
    serveHere: (handedBackBy: string) => void,
  ): boolean {
    const target = this.targetOf(call.metadata, to);
    if (target === undefined || call.cancelled) return false;
    const request = this.bytesOf(method, call.request);
    this.begin(method, target);
    const mux = this.muxFor(target);
    if (!mux.available) {
      this.forwardUnaryCall(method, call, callback, target, request);
      return true;
    }
    let answered = false;
    const settle = (): boolean => {
      if (answered) return false;
      answered = true;
      mux.forget(id);
      clearTimeout(deadline);
      stopWatching();
      return true;
    };
    const id = mux.send(method, request, forwardedCredentials(currentCredentials()), (outcome) => {
      if (!settle()) return;
      if (hopLedger.enabled) this.hop('forward.relayed', target, call.request);
      if (outcome.kind === 'unimplemented') {
        // The leader runs a build without Forward: this call was not served; it goes on its own.
        this.forwardUnaryCall(method, call, callback, target, request);
        return;
      }
      const status =
        outcome.kind === 'broken'
          ? this.relayedStatus(outcome.status, 'unary')
          : answerStatus(outcome.answer.code, outcome.answer.details, outcome.answer.trailers);
      this.end(method, target, status.code);
      if (outcome.kind === 'answer' && this.handsBack(outcome.answer)) {
        serveHere(target.leaderId);
        return;
      }
      call.sendMetadata(this.forwardedHeaders(undefined, target));
      if (outcome.kind === 'answer' && status.code === grpc.status.OK) {
        callback(null, outcome.answer.response ?? Buffer.alloc(0));
      } else {
        callback(status);
      }
    });
    if (hopLedger.enabled) this.hop('forward.sent', target, call.request);
    const deadline = setTimeout(
      () => {
        if (!settle()) return;
        this.end(method, target, grpc.status.DEADLINE_EXCEEDED);
        callback({
          code: grpc.status.DEADLINE_EXCEEDED,
          details: `the leader (${target.leaderId}) did not answer this forwarded call in time; it may or may not have been applied: check before repeating a write that must not run twice`,
          metadata: new grpc.Metadata(),
        });
      },
      deadlineOf(call, GRPC_FORWARD_UNARY_TIMEOUT_MS) - Date.now(),
    );
    const stopWatching = this.whenDeposed(target, (status) => {
      if (!settle()) return;
      this.end(method, target, status.code);
      callback(status);
    });
    call.on('cancelled', () => {
      if (settle()) this.end(method, target, grpc.status.CANCELLED);
    });
    return true;
  }

  /**
   * handsBack tells whether a forwarded call's answer is NOT_LEADER naming this node: the call was
   * not served there, and this node leads, or is about to (LeadershipService.handOff).
   */
  private handsBack(answer: ForwardedAnswer): boolean {
    const trailers = answer.trailers;
    return (
      trailers?.[ERROR_CODE_METADATA_KEY] === 'NOT_LEADER' &&
      trailers[DETAIL_METADATA_KEYS['leaderHint']!] === this.options.node.id
    );
  }

  /**
   * forwardUnaryCall forwards a unary call as a gRPC call of its own: to a leader without Forward
   * (an older build during a rolling upgrade).
   */
  private forwardUnaryCall(
    method: string,
    call: grpc.ServerUnaryCall<unknown, object>,
    callback: grpc.sendUnaryData<object>,
    target: ForwardTarget,
    request: Buffer,
  ): void {
    // The leader's answer is relayed the moment its message arrives, not after the status: a
    // leader sends a unary message only for a call that succeeded (with no trailing metadata of
    // ours), and grpc-js sends the status at least one turn of the leader's event loop later,
    // among the Raft work of the same write (bench/README.md "edge"). On the wire a unary answer
    // is a server stream of one message, so the call is made as one to see the message.
    let answered = false;
    const upstream = this.clientFor(target.address, target.leaderId).makeServerStreamRequest<Buffer, Buffer>(
      this.pathOf(method),
      identity,
      identity,
      request,
      this.outgoingMetadata(),
      { deadline: deadlineOf(call, GRPC_FORWARD_UNARY_TIMEOUT_MS) },
    );
    upstream.on('metadata', (headers: grpc.Metadata) =>
      call.sendMetadata(this.forwardedHeaders(headers, target)),
    );
    upstream.on('data', (response: Buffer) => {
      if (answered) return;
      answered = true;
      callback(null, response);
    });
    // A failure also arrives as the status, which answers it; 'error' only needs a listener.
    upstream.on('error', () => undefined);
    // A leader deposed while the call waits for it (frozen, cut off) would hold the call until its
    // deadline; once this node knows another leader and the grace has passed, the call ends with an
    // unknown outcome, which the SDK retries (the cluster dedups a repeated write by its correlation id).
    // A call whose answer follows the change itself (TransferLeadership) gets it within the grace.
    const stopWatching = this.whenDeposed(target, (status) => {
      if (answered) return;
      answered = true;
      callback(status);
      upstream.cancel();
    });
    upstream.on('status', (status: grpc.StatusObject) => {
      stopWatching();
      this.end(method, target, status.code);
      if (!answered) callback(this.relayedStatus(status, 'unary'));
    });
    call.on('cancelled', () => upstream.cancel());
  }

  /**
   * whenDeposed calls `expire` with the status to end the call with DEPOSED_LEADER_ANSWER_GRACE_MS
   * after this node first learns of a leader other than `target` while a call forwarded there
   * still waits; and, for a call handed over while this node leads (to its transfer's target,
   * LeadershipService.handOff), HAND_OFF_ANSWER_MS_MAX after it was sent if the target does not
   * lead by then (the transfer failed, or the target stopped answering: it would otherwise hold
   * the call until its deadline). The returned function stops watching (call it once the call
   * ended); `expire` may be called twice, and answers only the first time.
   */
  private whenDeposed(target: ForwardTarget, expire: (status: grpc.StatusObject) => void): () => void {
    const { node } = this.options;
    let grace: NodeJS.Timeout | undefined;
    const listener: LeaderChangeListener = (leaderId) => {
      if (leaderId === '' || leaderId === target.leaderId || grace !== undefined) return;
      grace = setTimeout(() => expire(this.deposedStatus(target, leaderId)), DEPOSED_LEADER_ANSWER_GRACE_MS);
    };
    this.leaderListeners.add(listener);
    const handOff = node.isLeader
      ? setTimeout(() => {
          if (node.leaderId !== target.leaderId) expire(this.handOffStatus(target));
        }, HAND_OFF_ANSWER_MS_MAX)
      : undefined;
    return () => {
      this.leaderListeners.delete(listener);
      clearTimeout(grace);
      clearTimeout(handOff);
    };
  }

  /**
   * forwardServerStream proxies a server-streaming call (Campaign) to `target` for its whole life.
   * When another leader is elected, the client's stream ends with NOT_LEADER, as a KeepAlive's
   * does: a campaign proxied to a frozen or deposed leader would otherwise wait for ever, while
   * the client, told the new leader, campaigns there again in the same session (the cluster hands
   * back its queue place or lease).
   */
  forwardServerStream(
    method: string,
    call: grpc.ServerWritableStream<unknown, object>,
    target: ForwardTarget,
  ): void {
    this.begin(method, target);
    const upstream = this.clientFor(target.address, target.leaderId).makeServerStreamRequest<Buffer, Buffer>(
      this.pathOf(method),
      identity,
      identity,
      this.bytesOf(method, call.request),
      this.outgoingMetadata(),
      streamOptions(call),
    );
    this.untilLeaderChanges(method, target, (hooks) => proxyServerStream(call, upstream, hooks));
  }

  /**
   * untilLeaderChanges starts a stream proxy to `target` with the forwarder's hooks and ends the
   * client's call with NOT_LEADER once another leader is elected (the upstream is cancelled).
   */
  private untilLeaderChanges(
    method: string,
    target: ForwardTarget,
    start: (hooks: ProxyHooks) => StreamProxy,
  ): void {
    const listener: LeaderChangeListener = (leaderId) => {
      if (leaderId === '' || leaderId === target.leaderId) return;
      proxy.abandon(this.leaderChangedStatus(target, leaderId));
    };
    const proxy = start({
      headers: (h) => this.forwardedHeaders(h, target),
      status: (s) => this.relayedStatus(s),
      ended: (code) => {
        this.leaderListeners.delete(listener);
        this.end(method, target, code);
      },
    });
    this.leaderListeners.add(listener);
  }

  /**
   * forwardBidiStream proxies a bidirectional call (KeepAlive) to `target`, both ways, for its
   * whole life. When another leader is elected, the client's stream ends with NOT_LEADER (the
   * old leader can no longer renew anything), so the client reconnects.
   */
  forwardBidiStream(
    method: string,
    call: grpc.ServerDuplexStream<unknown, object>,
    target: ForwardTarget,
  ): void {
    this.begin(method, target);
    const upstream = this.clientFor(target.address, target.leaderId).makeBidiStreamRequest<Buffer, Buffer>(
      this.pathOf(method),
      identity,
      identity,
      this.outgoingMetadata(),
      streamOptions(call),
    );
    this.untilLeaderChanges(method, target, (hooks) =>
      proxyBidiStream(call, upstream, { ...hooks, encode: (request) => this.bytesOf(method, request) }),
    );
  }

  /** close closes every cached channel (server shutdown); calls still open on them are cancelled. */
  close(): void {
    this.closed = true;
    this.options.node.off('leader', this.onLeader);
    for (const mux of this.muxes.values()) mux.close();
    this.muxes.clear();
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  /**
   * connectAll opens a channel to every other member's public gRPC address once a leader is
   * known (a quorum is up), so that after the next election or transfer the writes held here are
   * forwarded at once instead of waiting for a TCP and HTTP/2 handshake with the new leader.
   */
  private connectAll(): void {
    if (this.closed) return;
    const { node } = this.options;
    const { voters, learners } = node.membership;
    for (const id of [...voters, ...learners]) {
      if (id === node.id) continue;
      const address = this.options.leaderGrpcAddress(id);
      if (address !== undefined && address !== '')
        this.clientFor(address, id).getChannel().getConnectivityState(true);
    }
  }

  /** muxFor is the Forward call (one per leader address) that carries the unary calls forwarded to `target`. */
  private muxFor(target: ForwardTarget): ForwardMux {
    let mux = this.muxes.get(target.address);
    if (mux === undefined) {
      mux = new ForwardMux({
        client: this.clientFor(target.address, target.leaderId),
        method: this.definitionOf('Forward'),
        metadata: () => {
          const metadata = new grpc.Metadata();
          metadata.set(FORWARDED_BY_METADATA_KEY, this.options.node.id);
          return metadata;
        },
        onUnimplemented: (retryAtMs) =>
          this.options.logger.info(
            { leader: target.leaderId, address: target.address, retryAt: new Date(retryAtMs).toISOString() },
            'the leader has no Cluster.Forward (an older build, as during a rolling upgrade): each call is forwarded on its own until retryAt, then Forward is tried again',
          ),
      });
      this.muxes.set(target.address, mux);
    }
    return mux;
  }

  private clientFor(address: string, leaderId: string): grpc.Client {
    let client = this.clients.get(address);
    if (client === undefined) {
      const Client = loadPublicApi().leadership.Client;
      const credentials = this.options.credentials?.(leaderId) ?? grpc.credentials.createInsecure();
      client = new Client(address, credentials, {
        // A leader restarted on its address is reached again within a second, not after grpc-js's
        // default reconnect backoff (1 s growing to 120 s), during which every forward would fail.
        'grpc.initial_reconnect_backoff_ms': FORWARD_RECONNECT_MS_MIN,
        'grpc.max_reconnect_backoff_ms': FORWARD_RECONNECT_MS_MAX,
      });
      this.clients.set(address, client);
    }
    return client;
  }

  private pathOf(method: string): string {
    return this.definitionOf(method).path;
  }

  private definitionOf(method: string): grpc.MethodDefinition<unknown, unknown> {
    const definition = this.methods.get(method);
    if (definition === undefined) throw new Error(`no method ${method} in proto/leadership.proto`);
    return definition;
  }

  /** bytesOf is the request exactly as the client sent it (re-encoded only if the bytes were not kept). */
  private bytesOf(method: string, request: unknown): Buffer {
    return rawBytesOf(request) ?? this.definitionOf(method).requestSerialize(request);
  }

  /**
   * outgoingMetadata marks a forwarded call and carries its caller's credentials (read from the
   * request being served), so the leader authorizes the caller, never this node.
   */
  private outgoingMetadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set(FORWARDED_BY_METADATA_KEY, this.options.node.id);
    for (const [key, value] of Object.entries(forwardedCredentials(currentCredentials())))
      metadata.set(key, value);
    return metadata;
  }

  private forwardedHeaders(headers: grpc.Metadata | undefined, target: ForwardTarget): grpc.Metadata {
    const out = relayableMetadata(headers);
    out.set(FORWARDED_TO_METADATA_KEY, target.leaderId);
    return out;
  }

  /**
   * relayedStatus is the leader's status as it came, trailers included, except for a failure
   * that did not come from the leader's edge (no omnirelay-error-code):
   * - the leader could not be reached at all (nothing was sent): NOT_LEADER with this node's
   *   current view, which tells the client the request was not applied;
   * - the connection broke after a unary request went out: UNAVAILABLE, because the leader may
   *   have applied it, and NOT_LEADER would invite a client to repeat a write that must not run
   *   twice (a step-down without a fence). Streams (Campaign, KeepAlive) are safe to reopen, so
   *   they get NOT_LEADER either way.
   */
  private relayedStatus(status: grpc.StatusObject, kind: 'unary' | 'stream' = 'stream'): grpc.StatusObject {
    const fromLeader = status.metadata.get(ERROR_CODE_METADATA_KEY).length > 0;
    if (status.code === grpc.status.UNAVAILABLE && !fromLeader) {
      const neverSent = status.details.startsWith('No connection established');
      if (kind === 'stream' || neverSent) return this.notLeaderStatus();
      return {
        code: grpc.status.UNAVAILABLE,
        details: `the connection to the leader broke while this request was forwarded (${status.details}); it may or may not have been applied: check before repeating a write that must not run twice`,
        metadata: new grpc.Metadata(),
      };
    }
    return { code: status.code, details: status.details, metadata: relayableMetadata(status.metadata) };
  }

  /**
   * handOffStatus answers a unary call handed to the target of this node's leadership transfer
   * that did not take office in time: UNAVAILABLE, since the target may yet lead and apply it.
   */
  private handOffStatus(target: ForwardTarget): grpc.StatusObject {
    return {
      code: grpc.status.UNAVAILABLE,
      details:
        `this request was handed to ${target.leaderId}, the target of a leadership transfer, which did not take office ` +
        `within ${HAND_OFF_ANSWER_MS_MAX} ms; it may or may not have been applied: check before repeating a write that must not run twice`,
      metadata: new grpc.Metadata(),
    };
  }

  /**
   * deposedStatus answers a unary call forwarded to a leader that lost office before it answered:
   * UNAVAILABLE, as for a connection that broke mid-call, since the old leader may have applied it.
   */
  private deposedStatus(target: ForwardTarget, leaderId: string): grpc.StatusObject {
    return {
      code: grpc.status.UNAVAILABLE,
      details:
        `the leader this request was forwarded to (${target.leaderId}) lost office to ${leaderId} before it answered; ` +
        'it may or may not have been applied: check before repeating a write that must not run twice',
      metadata: new grpc.Metadata(),
    };
  }

  private leaderChangedStatus(target: ForwardTarget, leaderId: string): grpc.StatusObject {
    if (leaderId !== this.options.node.id) return this.notLeaderStatus();
    return toServiceError(
      new ServerError(
        'NOT_LEADER',
        `the Raft leader changed from ${target.leaderId} to this node (${leaderId}) while this stream was forwarded; open a new stream`,
        { leaderHint: leaderId },
      ),
    );
  }

  /** hop records a step of a forwarded call in the hop ledger, tagged with its correlation id. */
  private hop(step: 'forward.sent' | 'forward.relayed', target: ForwardTarget, request: unknown): void {
    const tag = (request as { correlationId?: unknown } | null)?.correlationId;
    hopLedger.record(step, this.options.node.id, 0, 0, target.leaderId, typeof tag === 'string' ? tag : '');
  }

  private begin(method: string, target: ForwardTarget): void {
    this.options.onForwarded?.();
    this.options.logger.debug(
      { method, forwardedTo: target.leaderId, address: target.address },
      'gRPC call forwarded to the leader',
    );
  }

  private end(method: string, target: ForwardTarget, code: grpc.status): void {
    this.options.logger.debug(
      { method, forwardedTo: target.leaderId, address: target.address, code: grpc.status[code] },
      'forwarded gRPC call ended',
    );
  }
}

/** answerStatus is the status of a call the leader answered over Forward, its trailers relayed. */
function answerStatus(
  code: grpc.status,
  details: string | undefined,
  trailers: Readonly<Record<string, string>> | undefined,
): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(trailers ?? {})) if (!isReserved(key)) metadata.set(key, value);
  return { code, details: details ?? '', metadata };
}

/** deadlineOf is the client's deadline, capped at `capMs` from now. */
function deadlineOf(call: { getDeadline(): grpc.Deadline }, capMs: number): number {
  const cap = Date.now() + capMs;
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? Math.min(ms, cap) : cap;
}

/** streamOptions passes the client's deadline, if any, to the forwarded stream. */
function streamOptions(call: { getDeadline(): grpc.Deadline }): grpc.CallOptions {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? { deadline: ms } : {};
}
