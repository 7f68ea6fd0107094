import * as grpc from '@grpc/grpc-js';
import type { ErrorCode } from './errors';
import {
  OmniRelayError,
  RETRYABLE_CODES,
  abortError,
  aborted,
  fromGrpcError,
  isOmniRelayError,
} from './errors';
import { loadServiceClients } from './proto';
import type { TokenSource } from './token';
import { bearerHeader, checkTokenSource } from './token';

/** TlsOptions turns on TLS to the nodes (PEM contents, not file names). */
export interface TlsOptions {
  /** ca verifies the nodes' certificates (default: the system's roots). */
  readonly ca?: Buffer | string;
  /** cert and key authenticate the client (mutual TLS); give both or neither. */
  readonly cert?: Buffer | string;
  readonly key?: Buffer | string;
}

/** RouterOptions is what the router needs from the client's options. */
export interface RouterOptions {
  readonly endpoints: readonly string[];
  readonly tls?: TlsOptions;
  /** token is sent as `authorization: Bearer <token>` on every call and stream (see TokenSource). */
  readonly token?: TokenSource;
  readonly callTimeoutMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** keepaliveMs is the HTTP/2 ping interval and timeout of every channel. */
  readonly keepaliveMs: number;
}

/** Service names a public service. */
export type Service = 'Leadership' | 'Cluster';

/** Stubs are the two service clients of one node. */
interface Stubs {
  readonly Leadership: grpc.Client;
  readonly Cluster: grpc.Client;
}

/** Unary is a unary method of a grpc-js client, as the loaded proto builds them. */
type Unary = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: unknown) => void,
) => grpc.ClientUnaryCall;

/** CallSpec says where a call goes and what may be retried. */
export interface CallSpec {
  /** leader: the call needs the Raft leader (writes and linearizable reads). */
  readonly leader: boolean;
  /**
   * retry lists the codes after which the call goes again; default RETRYABLE_CODES. A write
   * that is not idempotent passes only codes that prove it was not applied (NOT_LEADER).
   */
  readonly retry?: ReadonlySet<ErrorCode>;
  /** timeoutMs overrides the client's call timeout (the whole call, retries included). */
  readonly timeoutMs?: number;
  /** address sends the call to this node only (no routing, no retry elsewhere). */
  readonly address?: string;
  readonly signal?: AbortSignal;
}

/** NODE_DID_NOT_SERVE are failures after which the node is no longer taken for the leader. */
const NODE_DID_NOT_SERVE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'UNAVAILABLE',
  'STOPPED',
  'DEADLINE_EXCEEDED',
  'CANCELLED',
]);

/** ONLY_NOT_APPLIED is the retry set of writes that must never run twice. */
export const ONLY_NOT_APPLIED: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['NOT_LEADER']);

/**
 * Router owns one channel per node and knows which node leads. Calls that need the leader go to
 * the last known leader (learned from Status answers and NOT_LEADER hints); the others go to
 * any node, preferring the leader. A failed call is retried, with capped exponential backoff and
 * jitter, on codes that make it safe, until the call's deadline. Channels reconnect by
 * themselves after a node restarts.
 */
export class Router {
  private readonly stubs = new Map<string, Stubs>();
  /** addressOf maps node ids to gRPC addresses, learned from each endpoint's Status. */
  private readonly addressOf = new Map<string, string>();
  private leaderAddress: string | undefined;
  /**
   * relayAddress is an endpoint that named a leader whose address this client does not know (a
   * client given one follower's address): leader-bound unary calls go there, and it forwards
   * them, rather than asking every endpoint for its Status before each call. Streams keep
   * looking for the leader itself (a proxied stream costs the follower every message).
   */
  private relayAddress: string | undefined;
  private readonly credentials: grpc.ChannelCredentials;
  /** token is the checked `token` option (a function is checked each time it is read). */
  private readonly token: TokenSource | undefined;
  private closed = false;
  /** next is the round-robin cursor over endpoints when no leader is known. */
  private next = 0;

  /** endpoints are the configured endpoints of the cluster the router talks to (see retarget). */
  private endpoints: readonly string[];

  constructor(readonly options: RouterOptions) {
    checkEndpoints(options.endpoints);
    this.endpoints = options.endpoints;
    this.credentials = channelCredentials(options.tls);
    this.token = options.token === undefined ? undefined : checkTokenSource(options.token);
  }

  /** knownLeaderAddress is where the last known leader listens, if any. */
  get knownLeaderAddress(): string | undefined {
    return this.leaderAddress;
  }

  /** endpoints are every address the router may use: the configured ones and learned ones. */
  get addresses(): string[] {
    return [...new Set([...this.endpoints, ...this.addressOf.values()])];
  }

  /**
   * retarget points the router at another cluster's endpoints (a cross-cluster failover): what it
   * learned of the old cluster's nodes and leader is forgotten, and answers that still arrive from
   * the old cluster's nodes teach it nothing (learn ignores them). Open channels stay until close.
   */
  retarget(endpoints: readonly string[]): void {
    checkEndpoints(endpoints);
    this.endpoints = [...endpoints];
    this.addressOf.clear();
    this.leaderAddress = undefined;
    this.relayAddress = undefined;
    this.next = 0;
  }

  /** stub returns (creating once) the service client of `address`. */
  stub(address: string, service: Service): grpc.Client {
    if (this.closed) throw new OmniRelayError('CLOSED', 'the client is closed; create a new one');
    let stubs = this.stubs.get(address);
    if (stubs === undefined) {
      const clients = loadServiceClients();
      const leadership = new clients.Leadership(address, this.credentials, {
        'grpc.max_receive_message_length': 16 * 1024 * 1024,
        // HTTP/2 pings find a connection that went silent (a black-holed path sends no reset),
        // so streams that only listen (Watch, Campaign) fail over instead of waiting forever.
        'grpc.keepalive_time_ms': this.options.keepaliveMs,
        'grpc.keepalive_timeout_ms': this.options.keepaliveMs,
        'grpc.keepalive_permit_without_calls': 1,
        // A node that was down comes back on the same address (a restart). grpc-js waits its own
        // reconnect backoff (1 s growing to 120 s) before it tries again, and until then fails
        // every call at once with the stale error, so a KeepAlive that follows the leader to a
        // node restarted seconds ago could not reach it before its leases lapse. The channel
        // retries no slower than the SDK's own backoff.
        'grpc.initial_reconnect_backoff_ms': Math.min(this.options.backoffBaseMs, this.options.backoffMaxMs),
        'grpc.max_reconnect_backoff_ms': this.options.backoffMaxMs,
      });
      // The Cluster service shares the Leadership client's channel.
      const cluster = new clients.Cluster(address, this.credentials, {
        channelOverride: leadership.getChannel(),
      });
      stubs = { Leadership: leadership, Cluster: cluster };
      this.stubs.set(address, stubs);
    }
    return stubs[service];
  }

  /**
   * metadata is the metadata of one call or stream: the bearer token, when configured, read now
   * (a token function is called each time). It throws INVALID_ARGUMENT when a token function
   * fails or returns a malformed token; the caller must then send nothing.
   */
  metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.token !== undefined) metadata.set('authorization', bearerHeader(this.token));
    return metadata;
  }

  /** pick chooses the node for an attempt: the leader if known, else the next endpoint in turn. */
  pick(): string {
    if (this.leaderAddress !== undefined) return this.leaderAddress;
    const all = this.addresses;
    const address = all[this.next % all.length]!;
    this.next++;
    return address;
  }

  /** leaderRoute is where a leader-bound call goes: the leader, else a relay that knows it. */
  private leaderRoute(): string | undefined {
    return this.leaderAddress ?? this.relayAddress;
  }

  /** learn records what an answer or error says about the leader. */
  learn(from: string, fact: { nodeId?: string; leaderId?: string; leaderAddress?: string }): void {
    // After a retarget, a late answer from the cluster the router left must not point it back there.
    if (from !== '' && !this.addresses.includes(from)) return;
    if (fact.nodeId !== undefined && fact.nodeId !== '') this.addressOf.set(fact.nodeId, from);
    if (fact.leaderAddress !== undefined && fact.leaderAddress !== '') {
      this.leaderAddress = fact.leaderAddress;
      if (fact.leaderId !== undefined && fact.leaderId !== '')
        this.addressOf.set(fact.leaderId, fact.leaderAddress);
      return;
    }
    if (fact.leaderId !== undefined && fact.leaderId !== '') {
      this.leaderAddress = this.addressOf.get(fact.leaderId);
    } else if (fact.leaderId === '') {
      this.leaderAddress = undefined;
    }
  }

  /**
   * noteFailure updates what the router knows of the leader after a call or stream to `address`
   * failed with `e` (undefined: a stream the node ended): a NOT_LEADER names the leader; a node
   * that did not serve the call at all stops being taken for the leader. Any other answer came
   * from a serving node and changes nothing.
   */
  noteFailure(address: string, e: OmniRelayError | undefined): void {
    const notLeader = e?.code === 'NOT_LEADER';
    if (!notLeader && e !== undefined && !NODE_DID_NOT_SERVE.has(e.code)) return;
    // Either way the node did not serve as leader or relay: it is not asked again blindly.
    if (this.relayAddress === address) this.relayAddress = undefined;
    if (notLeader) {
      this.learn(address, {
        ...(e.details.leaderHint === undefined ? {} : { leaderId: e.details.leaderHint }),
        ...(e.details.leaderAddress === undefined ? {} : { leaderAddress: e.details.leaderAddress }),
      });
    }
    this.forgetLeader(address);
  }

  /** forgetLeader drops the known leader after it failed to answer. */
  forgetLeader(address: string): void {
    if (this.leaderAddress === address) this.leaderAddress = undefined;
  }

  /**
   * discover asks every endpoint for its Status (in parallel, short deadline) and learns node
   * ids and the leader. It resolves once it knows the leader's address or all have answered.
   */
  async discover(signal?: AbortSignal, timeoutMsMax = this.options.callTimeoutMs): Promise<boolean> {
    const timeoutMs = Math.min(1000, timeoutMsMax);
    const asks = this.addresses.map(async (address) => {
      const s = (await this.once('Cluster', 'Status', {}, address, timeoutMs, signal)) as {
        nodeId: string;
        leader: string;
      };
      this.learn(address, { nodeId: s.nodeId });
      if (s.leader !== '' && this.addresses.includes(address)) {
        if (s.leader === s.nodeId) this.leaderAddress = address;
        else this.learn(address, { leaderId: s.leader });
        if (this.leaderAddress === undefined) this.relayAddress = address;
      }
    });
    const answers = await Promise.allSettled(asks);
    return answers.some((a) => a.status === 'fulfilled');
  }

  /**
   * call runs one unary method with routing and retries, and resolves to the decoded response
   * (the proto-loader object form). It rejects with an OmniRelayError.
   */
  async call<T>(service: Service, method: string, request: object, spec: CallSpec): Promise<T> {
    const timeoutMs = spec.timeoutMs ?? this.options.callTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const retry = spec.retry ?? RETRYABLE_CODES;
    let attempt = 0;
    let last: OmniRelayError | undefined;
    for (;;) {
      if (aborted(spec.signal)) throw abortError(`${service}.${method}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw (
          last ??
          new OmniRelayError(
            'DEADLINE_EXCEEDED',
            `${service}.${method} did not finish within ${timeoutMs} ms`,
          )
        );
      }
      // Find the leader before sending a leader-bound call anywhere: a follower may answer some
      // calls itself (Members without progress), and guessing costs a redirect.
      if (spec.leader && spec.address === undefined && this.leaderRoute() === undefined) {
        // Bounded by what is left of the deadline; when no node answers, that is the error to
        // report if the deadline passes before an attempt (not DEADLINE_EXCEEDED).
        if (!(await this.discover(spec.signal, remaining))) {
          last ??= new OmniRelayError(
            'UNAVAILABLE',
            `no node answered (${this.addresses.join(', ')}); check the nodes are running and the endpoints are right`,
          );
        }
        if (deadline - Date.now() <= 0) continue; // the top of the loop reports it
      }
      const address = spec.address ?? (spec.leader ? this.leaderRoute() : undefined) ?? this.pick();
      try {
        return (await this.once(service, method, request, address, remaining, spec.signal)) as T;
      } catch (e) {
        if (!isOmniRelayError(e)) throw e;
        last = e;
        this.noteFailure(address, e);
        if (spec.address !== undefined || !retry.has(e.code)) throw e;
        attempt++;
        // A NOT_LEADER that named the leader is retried at once; anything else backs off.
        if (!(e.code === 'NOT_LEADER' && this.leaderAddress !== undefined && attempt <= 2)) {
          const left = deadline - Date.now();
          if (left <= 0) throw e;
          await sleep(Math.min(backoffMs(attempt, this.options), left), spec.signal);
        }
      }
    }
  }

  /** once runs one attempt of a unary method against one node. */
  once(
    service: Service,
    method: string,
    request: object,
    address: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const client = this.stub(address, service) as unknown as Record<string, Unary>;
    const fn = client[method];
    if (fn === undefined) throw new OmniRelayError('INTERNAL', `unknown method ${service}.${method}`);
    return new Promise((resolve, reject) => {
      const call = fn.call(
        client,
        request,
        this.metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          signal?.removeEventListener('abort', onAbort);
          if (error !== null) reject(fromGrpcError(error, address));
          else resolve(response);
        },
      );
      const onAbort = (): void => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** close closes every channel; calls in flight fail with CANCELLED. */
  close(): void {
    this.closed = true;
    for (const stubs of this.stubs.values()) stubs.Leadership.close();
    this.stubs.clear();
  }
}

/** backoffMs is the wait before attempt `attempt` (1-based): capped exponential with full jitter. */
export function backoffMs(attempt: number, o: { backoffBaseMs: number; backoffMaxMs: number }): number {
  const cap = Math.min(o.backoffMaxMs, o.backoffBaseMs * 2 ** Math.min(attempt - 1, 16));
  return cap / 2 + Math.random() * (cap / 2);
}

/** sleep waits `ms`, or rejects with CANCELLED when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (aborted(signal)) {
      reject(abortError('the wait'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError('the wait'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** checkEndpoints refuses an empty endpoint list and any endpoint that is not host:port (INVALID_ARGUMENT). */
export function checkEndpoints(endpoints: readonly string[]): void {
  if (endpoints.length === 0) {
    throw new OmniRelayError(
      'INVALID_ARGUMENT',
      'createClient needs at least one endpoint (host:port of a node gRPC API)',
    );
  }
  for (const endpoint of endpoints) {
    if (!/^[^\s:]+:\d{1,5}$/.test(endpoint)) {
      throw new OmniRelayError('INVALID_ARGUMENT', `endpoint ${JSON.stringify(endpoint)} must be host:port`);
    }
  }
}

function channelCredentials(tls: TlsOptions | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new OmniRelayError(
      'INVALID_ARGUMENT',
      'tls.cert and tls.key go together: give both for mutual TLS, or neither',
    );
  }
  const buffer = (v: Buffer | string | undefined): Buffer | null =>
    v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);
  return grpc.credentials.createSsl(buffer(tls.ca), buffer(tls.key), buffer(tls.cert));
}
