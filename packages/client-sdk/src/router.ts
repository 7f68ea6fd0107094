import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import type { ErrorCode } from './errors';
import {
  OmniRelayError,
  RETRYABLE_CODES,
  abortError,
  aborted,
  fromGrpcError,
  isOmniRelayError,
  untilAborted,
} from './errors';
import { CallMux } from './call-mux';
import type { CarriedOutcome } from './call-mux';
import { answerOnMessage } from './early-answer';
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
  /**
   * attemptTimeoutMs bounds one attempt of a call that may be repeated after an attempt got no
   * answer (CallSpec.retryUnanswered), and how long a KeepAlive request may go unanswered before
   * its node is asked whether it still runs (see Router.unresponsive).
   */
  readonly attemptTimeoutMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** keepaliveMs is the HTTP/2 ping interval and timeout of every channel. */
  readonly keepaliveMs: number;
  /**
   * multiplexCalls (default true) sends the unary calls to a node over one Leadership.Calls
   * stream (CallMux) rather than as one HTTP/2 stream each; a node without Calls gets them on their own.
   */
  readonly multiplexCalls?: boolean;
}

/** Service names a public service. */
export type Service = 'Leadership' | 'Cluster';

/** Stubs are the two service clients of one node, and the CallMux over their channel. */
interface Stubs {
  readonly Leadership: grpc.Client;
  readonly Cluster: grpc.Client;
  readonly mux: CallMux | undefined;
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
  /**
   * retryUnanswered: the request may be sent again after an attempt that got no answer (a read, or
   * a write the cluster applies once however often it arrives: an acquire by session, a resign
   * by fence). Each attempt then gets at most attemptTimeoutMs, so a call to a frozen leader
   * goes on to the other nodes instead of waiting out the call's deadline; an attempt abandoned
   * that way may still be applied, and the cluster's dedup makes the retry end in that outcome.
   */
  readonly retryUnanswered?: boolean;
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

/** UNCARRIED is what `carried` resolves to when the node refused the Calls call (the call did not run). */
const UNCARRIED: unique symbol = Symbol('uncarried');
const EMPTY = Buffer.alloc(0);
/** The statuses a carried call ends with when the client stops waiting, as grpc-js gives a unary call's. */
const DEADLINE_EXCEEDED_ON_CLIENT: grpc.StatusObject = {
  code: grpc.status.DEADLINE_EXCEEDED,
  details: 'Deadline exceeded',
  metadata: new grpc.Metadata(),
};
const CANCELLED_ON_CLIENT: grpc.StatusObject = {
  code: grpc.status.CANCELLED,
  details: 'Cancelled on client',
  metadata: new grpc.Metadata(),
};

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
  /** answeredAtMs is when each address last answered anything (monotonic): its process runs. */
  private readonly answeredAtMs = new Map<string, number>();
  /** unresponsiveAtMs is when each address was last found not answering (see unresponsive). */
  private readonly unresponsiveAtMs = new Map<string, number>();
  private readonly unresponsiveListeners = new Set<(address: string) => void>();
  /** questions holds the Status question in flight to each address (stillRuns). */
  private readonly questions = new Map<string, Promise<void>>();

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
    this.answeredAtMs.clear();
    this.unresponsiveAtMs.clear();
  }

  /** stub returns (creating once) the service client of `address`. */
  stub(address: string, service: Service): grpc.Client {
    return this.stubsOf(address)[service];
  }

  /** stubsOf returns (creating once) the service clients of `address` and their CallMux. */
  private stubsOf(address: string): Stubs {
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
      const calls = clients.Leadership.service['Calls'];
      const mux =
        this.options.multiplexCalls === false || calls === undefined
          ? undefined
          : new CallMux(leadership, calls);
      stubs = { Leadership: leadership, Cluster: cluster, mux };
      this.stubs.set(address, stubs);
    }
    return stubs;
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

  /**
   * pick chooses the node for an attempt or a stream: the leader if known, else the next endpoint
   * in turn, passing over nodes found unresponsive (unless every node is). A leader known only at
   * an address that stopped answering (a dead path to a live leader, or a frozen leader the
   * others still name) gives way to a relay that names it, which forwards to it while it can.
   */
  pick(): string {
    const leader = this.leaderAddress;
    if (leader !== undefined && !this.isUnresponsive(leader)) return leader;
    const relay = this.relayAddress;
    if (leader !== undefined && relay !== undefined && !this.isUnresponsive(relay)) return relay;
    if (leader !== undefined) return leader;
    const all = this.addresses;
    for (let i = 0; i < all.length; i++) {
      const address = all[(this.next + i) % all.length]!;
      if (!this.isUnresponsive(address)) {
        this.next += i + 1;
        return address;
      }
    }
    const address = all[this.next % all.length]!;
    this.next++;
    return address;
  }

  /**
   * unresponsive records that `address` left a request unanswered past attemptTimeoutMs (a
   * unary attempt, or a KeepAlive request) and then did not answer a Status question either (a
   * frozen process: SIGSTOP, a long pause; or a dead path), or, taken for the leader, refused or
   * reset the connection (its process is gone). It stops being taken for the leader or
   * relay, round-robin passes it over until it answers again, and every listener (open streams
   * to it, such as a campaign) hears it, so they move to another node instead of waiting for
   * the connection's keepalive.
   */
  unresponsive(address: string): void {
    this.unresponsiveAtMs.set(address, performance.now());
    if (this.relayAddress === address) this.relayAddress = undefined;
    this.forgetLeader(address);
    for (const listener of [...this.unresponsiveListeners]) listener(address);
  }

  /** onUnresponsive registers `listener` for every unresponsive(address); it returns the function that unregisters it. */
  onUnresponsive(listener: (address: string) => void): () => void {
    this.unresponsiveListeners.add(listener);
    return () => this.unresponsiveListeners.delete(listener);
  }

  /**
   * whileStream watches a stream open to `address` (a campaign, a watch): `frozen` runs when the
   * node is found unresponsive (which already means it left a Status question unanswered, or
   * refused the connection), and, when it already is as the stream opens (the other nodes still
   * name a frozen leader while they wait out their election timeout), once it does not answer a
   * Status question asked then either, so the caller cancels the stream and opens it elsewhere
   * rather than wait for the connection's keepalive, or for ever when a fresh connection to a
   * frozen process never gets past its handshake. It returns the function that stops watching.
   */
  whileStream(address: string, frozen: () => void): () => void {
    let checking = false;
    let stopped = false;
    const check = (): void => {
      if (checking || stopped) return;
      checking = true;
      void this.stillRuns(address).then((runs) => {
        checking = false;
        if (!runs && !stopped) frozen();
      });
    };
    const stopListening = this.onUnresponsive((from) => {
      // Asking again would only add another attemptTimeoutMs to the move (see unresponsive's callers).
      if (from === address)
        queueMicrotask(() => {
          if (!stopped) frozen();
        });
    });
    if (this.isUnresponsive(address)) check();
    return () => {
      stopped = true;
      stopListening();
    };
  }

  /** answeredSince tells whether `address` answered anything after `sinceMs` (monotonic). */
  answeredSince(address: string, sinceMs: number): boolean {
    return this.lastAnsweredAtMs(address) > sinceMs;
  }

  /** lastAnsweredAtMs is when `address` last answered anything (monotonic; −∞ if never). */
  lastAnsweredAtMs(address: string): number {
    return this.answeredAtMs.get(address) ?? Number.NEGATIVE_INFINITY;
  }

  /**
   * heard records that `address` answered: a unary call's message or status, or a message on a
   * stream (a KeepAlive answer). Any of them proves the node's process runs, so a node that
   * answers, however late, is not taken for frozen.
   */
  heard(address: string): void {
    this.answeredAtMs.set(address, performance.now());
  }

  /**
   * stillRuns asks `address` for its Status (bounded by attemptTimeoutMs) and resolves whether it
   * answered anything since `sinceMs` (monotonic; default: when asked): a node that is alive but
   * slow at what it was asked still answers this, a frozen one does not. A question already in
   * flight to the node is waited for rather than asked again (a leader behind on its work is asked
   * once, not by every call and stream that found it slow). It never rejects.
   */
  async stillRuns(address: string, sinceMs = performance.now()): Promise<boolean> {
    let question = this.questions.get(address);
    if (question === undefined) {
      // Only whether it answered matters (a refusal of a Status is an answer too: `heard` saw it).
      const asked: Promise<void> = this.askStatus(address, this.options.attemptTimeoutMs).then(() => {
        if (this.questions.get(address) === asked) this.questions.delete(address);
      });
      question = asked;
      this.questions.set(address, question);
    }
    await question;
    return this.answeredSince(address, sinceMs);
  }

  /**
   * othersFollow asks the nodes other than `address` for their Status (in parallel, each bounded
   * by attemptTimeoutMs) and resolves whether any of them names `address`'s node as its leader:
   * its followers still hear it, so it runs, however late it answers this client. What they say
   * of the leader is learned (a successor they name becomes the leader to go to). It never rejects.
   */
  async othersFollow(address: string): Promise<boolean> {
    const others = this.addresses.filter((a) => a !== address);
    const named = await Promise.all(
      others.map(async (other) => {
        const s = await this.askStatus(other, this.options.attemptTimeoutMs);
        if (s === undefined) return false;
        this.learn(other, { nodeId: s.nodeId, ...(s.leader === '' ? {} : { leaderId: s.leader }) });
        return s.leader !== '' && s.leader !== s.nodeId && this.addressOf.get(s.leader) === address;
      }),
    );
    return named.includes(true);
  }

  /**
   * askStatus asks `address` for its Status within `timeoutMs` and answers its node id and the
   * leader it names ('' for none), or undefined when it did not answer. It never rejects: `once`
   * throws at once on a closed router, which counts as a node that did not answer.
   */
  private async askStatus(
    address: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ readonly nodeId: string; readonly leader: string } | undefined> {
    try {
      return (await this.once('Cluster', 'Status', {}, address, timeoutMs, signal)) as {
        nodeId: string;
        leader: string;
      };
    } catch {
      return undefined;
    }
  }

  /** isUnresponsive: `address` was found unresponsive and has not answered since. */
  isUnresponsive(address: string): boolean {
    const at = this.unresponsiveAtMs.get(address);
    return at !== undefined && !this.answeredSince(address, at);
  }

  /**
   * leaderRoute is where a leader-bound call goes: the leader, else a relay that knows it (also
   * when the leader's address stopped answering and the relay did not).
   */
  private leaderRoute(): string | undefined {
    const leader = this.leaderAddress;
    const relay = this.relayAddress;
    if (
      leader !== undefined &&
      this.isUnresponsive(leader) &&
      relay !== undefined &&
      !this.isUnresponsive(relay)
    )
      return relay;
    return leader ?? relay;
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
   * ids and the leader. It resolves true once a node answers that it leads, or once every node
   * not found unresponsive has settled (true when any answered). A frozen node is not waited for:
   * its Status would only time out.
   */
  async discover(signal?: AbortSignal, timeoutMsMax = this.options.callTimeoutMs): Promise<boolean> {
    const timeoutMs = Math.min(1000, timeoutMsMax);
    const addresses = this.addresses;
    const awaited = addresses.filter((a) => !this.isUnresponsive(a));
    let pending = awaited.length === 0 ? addresses.length : awaited.length;
    let answered = false;
    return new Promise<boolean>((resolve) => {
      for (const address of addresses) {
        const counted = awaited.length === 0 || awaited.includes(address);
        void this.askStatus(address, timeoutMs, signal).then((s) => {
          if (s !== undefined) {
            answered = true;
            this.learn(address, { nodeId: s.nodeId });
            if (s.leader !== '' && this.addresses.includes(address)) {
              if (s.leader === s.nodeId) {
                this.leaderAddress = address;
                resolve(true);
              } else this.learn(address, { leaderId: s.leader });
              if (this.leaderAddress === undefined || this.isUnresponsive(this.leaderAddress))
                this.relayAddress = address;
            }
          }
          if (counted && --pending === 0) resolve(answered);
        });
      }
    });
  }

  /**
   * call runs one unary method with routing and retries, and resolves to the decoded response
   * (the proto-loader object form). It rejects with an OmniRelayError.
   */
  async call<T>(service: Service, method: string, request: object, spec: CallSpec): Promise<T> {
    const timeoutMs = spec.timeoutMs ?? this.options.callTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const retry = spec.retry ?? RETRYABLE_CODES;
    /** abandoned maps each node that left an attempt unanswered to when the attempt was given up. */
    const abandoned = new Map<string, number>();
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
      // An attempt is bounded by attemptTimeoutMs when the call may go again unanswered, unless
      // this node already left an attempt of this call unanswered and has answered since it was
      // given up (alive, only slow: it gets the rest of the deadline rather than being abandoned again).
      const toLeader = address === this.leaderAddress;
      const abandonedAt = abandoned.get(address);
      const bounded =
        spec.retryUnanswered === true &&
        spec.address === undefined &&
        (abandonedAt === undefined || !this.answeredSince(address, abandonedAt));
      const attemptMs = bounded ? Math.min(remaining, this.options.attemptTimeoutMs) : remaining;
      const sentAtMs = performance.now();
      try {
        return (await this.once(service, method, request, address, attemptMs, spec.signal)) as T;
      } catch (e) {
        if (!isOmniRelayError(e)) throw e;
        last = e;
        if (e.code === 'DEADLINE_EXCEEDED' && attemptMs < remaining && !aborted(spec.signal)) {
          // Abandoned, not failed: the node may be frozen with the request in its socket. The call
          // goes again (the cluster dedups it if this attempt still applies), bounded again there:
          // an answer that came while this attempt waited may have been the node's last before it
          // froze. A node that answered nothing at all meanwhile (no call, no stream message) is
          // asked for its Status, and taken for frozen only when it does not answer that either:
          // the others are asked who leads, and its streams are checked (KeepAlive.checkSilence).
          // One that answered something is slow, not known frozen: taking it for frozen cancelled
          // every KeepAlive stream of the client to a leader only behind, sending all their
          // renewals to it again. A leader seconds behind on renewals leaves acquires unanswered
          // for a whole attempt: taking it for frozen then, without asking, set off that collapse
          // while the bench filled 100,000 leases (bench/README.md "scale"). Once it answers, the
          // next attempt there gets the rest of the deadline (see `bounded`).
          abandoned.set(address, performance.now());
          if (!this.answeredSince(address, sentAtMs)) {
            // The caller's abort ends the wait for that answer too.
            const runs = await untilAborted(
              this.stillRuns(address, sentAtMs),
              spec.signal,
              `${service}.${method}`,
            );
            if (!runs) this.unresponsive(address);
          }
          continue;
        }
        this.noteFailure(address, e);
        if (spec.address !== undefined || !retry.has(e.code)) throw e;
        attempt++;
        // The node taken for the leader did not take the call (UNAVAILABLE: its process is gone,
        // the connection refused or reset): it is unresponsive until it answers again, so the next
        // attempt goes elsewhere (discover, then another node, which holds the write until the
        // next leader is known), and backing off would only add to the failover.
        const leaderGone = toLeader && e.code === 'UNAVAILABLE';
        if (leaderGone) this.unresponsive(address);
        // A NOT_LEADER that named the leader, or a leader gone, is retried at once; anything else backs off.
        const atOnce = (e.code === 'NOT_LEADER' && this.leaderAddress !== undefined) || leaderGone;
        if (!(atOnce && attempt <= 2)) {
          const left = deadline - Date.now();
          if (left <= 0) throw e;
          await sleep(Math.min(retryDelayMs(e, attempt, this.options), left), spec.signal);
        }
      }
    }
  }

  /**
   * once runs one attempt of a unary method against one node: over the node's CallMux while it
   * has one, else as a call of its own.
   */
  once(
    service: Service,
    method: string,
    request: object,
    address: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const stubs = this.stubsOf(address);
    const client = stubs[service] as unknown as Record<string, Unary>;
    const fn = client[method];
    if (fn === undefined) throw new OmniRelayError('INTERNAL', `unknown method ${service}.${method}`);
    const definition = loadServiceClients()[service].service[method];
    const mux = stubs.mux;
    if (mux?.available === true && definition !== undefined) {
      const bytes = definition.requestSerialize(request);
      if (mux.takes(bytes.length)) {
        return this.carried(mux, definition, method, bytes, address, timeoutMs, signal).then((o) =>
          o === UNCARRIED ? this.unary(fn, client, request, address, timeoutMs, signal) : o,
        );
      }
    }
    return this.unary(fn, client, request, address, timeoutMs, signal);
  }

  /**
   * carried runs one attempt (its request's `bytes`) over `mux`, ending as the same call made on
   * its own would: the decoded response, or the OmniRelayError of its status (DEADLINE_EXCEEDED
   * after `timeoutMs`, CANCELLED on `signal`). It resolves UNCARRIED when the node refused the
   * Calls call itself.
   */
  private async carried(
    mux: CallMux,
    definition: grpc.MethodDefinition<unknown, unknown>,
    method: string,
    bytes: Buffer,
    address: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    // A token function that fails throws INVALID_ARGUMENT here: nothing is sent.
    const headers: Record<string, string> =
      this.token === undefined ? {} : { authorization: bearerHeader(this.token) };
    if (aborted(signal)) throw fromGrpcError(CANCELLED_ON_CLIENT, address);
    return new Promise((resolve, reject) => {
      const settle = (outcome: CarriedOutcome): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (outcome.kind === 'refused') {
          resolve(UNCARRIED);
          return;
        }
        const { status } = outcome;
        if (status.code === grpc.status.OK && outcome.kind === 'answer') {
          this.heard(address);
          try {
            resolve(definition.responseDeserialize(outcome.response ?? EMPTY));
          } catch (e) {
            reject(
              new OmniRelayError(
                'INTERNAL',
                `the answer of ${method} from ${address} did not decode: ${String(e)}`,
              ),
            );
          }
          return;
        }
        const failure = fromGrpcError(status, address);
        // An answer proves the node's process runs, as a status does (see unresponsive).
        if (outcome.kind === 'answer' || !NODE_DID_NOT_SERVE.has(failure.code)) this.heard(address);
        reject(failure);
      };
      const id = mux.send(method, bytes, headers, settle);
      const end = (status: grpc.StatusObject): void => {
        mux.forget(id);
        settle({ kind: 'ended', status });
      };
      const timer = setTimeout(() => end(DEADLINE_EXCEEDED_ON_CLIENT), timeoutMs);
      const onAbort = (): void => end(CANCELLED_ON_CLIENT);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** unary runs one attempt as a call of its own. */
  private unary(
    fn: Unary,
    client: Record<string, Unary>,
    request: object,
    address: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      // The response message is the answer; the status after it is not waited for (answerOnMessage).
      // The callback still runs when the status comes: a promise settles once, so it changes nothing then.
      const answer = (response: unknown): void => {
        // A message proves the node's process runs, as a status does (see unresponsive).
        this.heard(address);
        signal?.removeEventListener('abort', onAbort);
        resolve(response);
      };
      const call = fn.call(
        client,
        request,
        this.metadata(),
        { deadline: Date.now() + timeoutMs, interceptors: [answerOnMessage(answer)] },
        (error, response) => {
          signal?.removeEventListener('abort', onAbort);
          const failure = error === null ? undefined : fromGrpcError(error, address);
          // A status the server sent (not a transport failure) proves the node's process runs.
          if (failure === undefined || !NODE_DID_NOT_SERVE.has(failure.code)) this.heard(address);
          if (failure !== undefined) reject(failure);
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
    for (const stubs of this.stubs.values()) {
      stubs.mux?.close();
      stubs.Leadership.close();
    }
    this.stubs.clear();
  }
}

/** backoffMs is the wait before attempt `attempt` (1-based): capped exponential with full jitter. */
export function backoffMs(attempt: number, o: { backoffBaseMs: number; backoffMaxMs: number }): number {
  const cap = Math.min(o.backoffMaxMs, o.backoffBaseMs * 2 ** Math.min(attempt - 1, 16));
  return cap / 2 + Math.random() * (cap / 2);
}

/**
 * retryDelayMs is how long to wait before attempt `attempt + 1` after `e`: the backoff, or the
 * wait the server asked for (retryAfterMs, BACKPRESSURE) when longer, with up to half of it again
 * at random so refused callers do not all come back at once.
 */
export function retryDelayMs(
  e: OmniRelayError,
  attempt: number,
  o: { backoffBaseMs: number; backoffMaxMs: number },
): number {
  const askedMs = e.details.retryAfterMs ?? 0;
  return Math.max(backoffMs(attempt, o), askedMs + Math.random() * (askedMs / 2));
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
