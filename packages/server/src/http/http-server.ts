import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ApplyResult, Successor } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import type { Logger } from 'pino';
import type { Credentials } from '../auth/access-control';
import { AccessControl, credentialsOf } from '../auth/access-control';
import { httpRequirements } from '../auth/permissions';
import type { Principal } from '../auth/principal';
import { chunksOf, takeBackup } from '../cluster/backup';
import { changeMembership, members, transferLeadership } from '../cluster/cluster-ops';
import { HEALTHY_MEANS, parsePeersFilter, peersView } from '../cluster/peers-view';
import { ERROR_TABLE, ServerError, isServerError, toServerError } from '../errors/error-table';
import { forwardToLeader, isForwarded } from './forward';
import type { AppliedTerm, LeadershipService, ReadConsistency } from '../leadership/leadership-service';
import type { DiskSpaceStatus } from '../disk/disk-space-monitor';
import type { LeadershipStateMachine } from '../leadership/leadership-state-machine';
import { withRequest } from '../leadership/request-origin';
import type { RevisionEvents, WatchHub } from '../leadership/watch-hub';
import { STREAM_LIMITS_DEFAULT, StreamLimiter } from '../limits/stream-limiter';
import type { ReplicationView } from '../cross-cluster/clusters-answer';
import { IDLE_REPLICATION, clustersAnswer } from '../cross-cluster/clusters-answer';
import { setClusterRequest } from '../cross-cluster/set-cluster-request';
import { failoverStepRequest } from '../cross-cluster/failover-step-request';
import { toJson } from './json';
import { leadershipEventJson, leaseTokenJson, mirrorPageJson, withLeaseTokens } from './lease-token';
import { bigintField, intField, optionalString, requireObject, stringField } from './request-fields';
import type { ClientTlsFiles, ForwardingTlsFiles } from '../tls/client-tls';
import { HttpsForwarding, TlsFileWatcher, leaderIdentityCheck } from '../tls/client-tls';
import type { HandshakeRefusals } from '@omnirelay/raft';
import { hopLedger } from '@omnirelay/raft';

/** PEER_SKEW_MS_DEFAULT is the skew bound GET /control/peers judges clock offsets by without `peers` (the server's default). */
const PEER_SKEW_MS_DEFAULT = 250;

/** HttpServerOptions configures startHttpServer. */
export interface HttpServerOptions {
  readonly address: string;
  readonly node: RaftNode<ApplyResult>;
  readonly service: LeadershipService;
  readonly stateMachine: LeadershipStateMachine;
  readonly hub: WatchHub;
  readonly bodyBytesMax: number;
  readonly version: string;
  readonly logger: Logger;
  /** metrics renders the Prometheus exposition for GET /metrics. */
  readonly metrics: MetricsSource;
  /** onForwarded hears each request forwarded to the leader (metrics). */
  readonly onForwarded?: () => void;
  /** onRequestFinished hears the HTTP status of every response once it is sent (metrics). */
  readonly onRequestFinished?: (status: number) => void;
  /** disk reads the data folder's free space for /status (`disk`); absent, /status shows null. */
  readonly disk?: () => DiskSpaceStatus;
  /**
   * streamLimiter counts SSE watchers toward watchersMax (shared with the gRPC edge's Watch
   * calls); default: one of its own with STREAM_LIMITS_DEFAULT.
   */
  readonly streamLimiter?: StreamLimiter;
  /**
   * tls serves the port over TLS 1.2+ with these files, HTTP/2 and HTTP/1.1 on one port by ALPN
   * (re-read when they change); absent, plaintext HTTP/1.1.
   */
  readonly tls?: ClientTlsFiles;
  /** forwardingTls makes a follower forward to the leader's client port over HTTPS (set with `tls`). */
  readonly forwardingTls?: ForwardingTlsFiles;
  /** access authenticates and authorizes every request (default: off, nothing refused). */
  readonly access?: AccessControl;
  /** handshakes hears the TLS handshakes this port refuses (logs and metrics). */
  readonly handshakes?: HandshakeRefusals;
  /** auth reads access control's state for /status (`auth`); absent, /status shows it off. */
  readonly auth?: () => { readonly enabled: boolean; readonly tokens: number | null };
  /**
   * peers feeds GET /control/peers: where other members' client ports are, this node's gRPC
   * address and the skew bound a clock offset is judged by; absent, those show null and 250 ms.
   */
  /** replication reads this node's replicator for GET /control/clusters (absent: idle). */
  readonly replication?: () => ReplicationView;
  readonly peers?: {
    readonly clientAddresses: (id: string) => { http: string | undefined; grpc: string | undefined };
    readonly grpcAddress: string;
    readonly skewMsMax: number;
  };
}

/** ClientHttpServer is the running HTTP listener on the client port. */
export interface ClientHttpServer {
  readonly address: string;
  close(): Promise<void>;
}

interface Request {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly query: URLSearchParams;
  readonly body: unknown;
}

type Handler = (r: Request) => unknown;

/** STREAMED is what a handler returns when it wrote the response itself (binary bodies). */
const STREAMED = Symbol('streamed');

/** SSE_BUFFER_BYTES_MAX: a server-sent-events client this far behind is cut off with the revision to resume from. */
const SSE_BUFFER_BYTES_MAX = 4 * 1024 * 1024;

/**
 * startHttpServer serves the client port with JSON bodies: over plaintext HTTP/1.1, or with
 * `tls` over TLS with HTTP/2 and HTTP/1.1 on the same port (ALPN `h2` and `http/1.1`); every
 * route, Server-Sent Events included, answers the same over each. Every error is
 * `{"error":{"code","message",...}}` with the status from the error table; fence tokens are
 * decimal strings. Reads are linearizable unless `?consistency=serializable`.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<ClientHttpServer> {
  const { node, service, stateMachine } = options;
  const streamLimiter = options.streamLimiter ?? new StreamLimiter(STREAM_LIMITS_DEFAULT);
  const consistencyOf = (q: URLSearchParams): ReadConsistency => {
    const c = q.get('consistency') ?? 'linearizable';
    if (c !== 'linearizable' && c !== 'serializable') {
      throw new ServerError('INVALID_ARGUMENT', `consistency must be linearizable or serializable, got ${c}`);
    }
    return c;
  };
  // The address actually bound (the real port when 0 was asked); set once listening.
  let boundAddress = options.address;
  const routes = new Map<string, Handler>([
    ['GET /status', () => statusBody(options, boundAddress)],
    ['GET /healthz', () => ({ ok: true })],
    ['GET /readyz', () => readiness(node)],
    [
      'GET /control/leaders',
      async ({ query }) => {
        const consistency = consistencyOf(query);
        const scope = query.get('scope');
        if (scope !== null)
          return withLeaseTokens({ scope, leader: await service.getLeader(scope, consistency) });
        const limit = query.get('limit');
        const pageToken = query.get('pageToken');
        const page = await service.listLeaders(
          {
            prefix: query.get('prefix') ?? '',
            ...(pageToken === null ? {} : { pageToken }),
            ...(limit === null ? {} : { limit: intField({ limit }, 'limit') }),
          },
          consistency,
        );
        return { holders: page.holders.map(leaseTokenJson), nextPageToken: page.nextPageToken };
      },
    ],
    [
      'GET /control/clusters',
      async ({ query }) =>
        clustersAnswer(
          await service.clusters(consistencyOf(query)),
          options.replication?.() ?? IDLE_REPLICATION,
        ),
    ],
    [
      'POST /control/clusters',
      async ({ body }) => ({ descriptor: (await service.setCluster(setClusterRequest(body))).descriptor }),
    ],
    [
      'POST /control/clusters/history',
      async ({ body }) => ({ record: await service.recordFailoverStep(failoverStepRequest(body)) }),
    ],
    [
      'GET /control/mirror',
      async ({ query }) => {
        const limit = query.get('limit');
        const pageToken = query.get('pageToken');
        return mirrorPageJson(
          await service.mirror(
            {
              prefix: query.get('prefix') ?? '',
              ...(pageToken === null ? {} : { pageToken }),
              ...(limit === null ? {} : { limit: intField({ limit }, 'limit') }),
            },
            consistencyOf(query),
          ),
        );
      },
    ],
    [
      'POST /fence-token/validate',
      async ({ body, query }) => {
        const o = requireObject(body, ['scope', 'fenceToken'], RENAMED_FENCE_FIELDS);
        const scope = stringField(o, 'scope');
        return withLeaseTokens({
          scope,
          ...(await service.validateFence(scope, bigintField(o, 'fenceToken'), consistencyOf(query))),
        });
      },
    ],
    [
      'POST /leadership/stepdown',
      async ({ body }) => {
        const o = requireObject(body, [
          'scope',
          'to',
          'leaseTtlMs',
          'metadata',
          'fenceToken',
          'correlationId',
        ]);
        const to = optionalString(o, 'to');
        let successor: Successor | undefined;
        if (to !== undefined) {
          successor =
            o['leaseTtlMs'] === undefined
              ? { kind: 'waiting', candidateId: to }
              : {
                  kind: 'explicit',
                  candidateId: to,
                  metadata: optionalString(o, 'metadata') ?? '',
                  leaseTtlMs: intField(o, 'leaseTtlMs'),
                };
        }
        const correlationId = optionalString(o, 'correlationId');
        return answerOfWrite(
          await service.stepDown({
            scope: stringField(o, 'scope'),
            ...(o['fenceToken'] === undefined ? {} : { fenceToken: bigintField(o, 'fenceToken') }),
            ...(successor === undefined ? {} : { successor }),
            ...(correlationId === undefined ? {} : { correlationId }),
          }),
        );
      },
    ],
    [
      'POST /leadership/acquire',
      async ({ body }) => {
        const o = requireObject(body, [
          'scope',
          'candidateId',
          'sessionId',
          'leaseTtlMs',
          'metadata',
          'correlationId',
        ]);
        const metadata = optionalString(o, 'metadata');
        const correlationId = optionalString(o, 'correlationId');
        const sessionId = optionalString(o, 'sessionId');
        return answerOfWrite(
          await service.acquire({
            scope: stringField(o, 'scope'),
            candidateId: stringField(o, 'candidateId'),
            ...(sessionId === undefined ? {} : { sessionId }),
            leaseTtlMs: intField(o, 'leaseTtlMs'),
            ...(metadata === undefined ? {} : { metadata }),
            ...(correlationId === undefined ? {} : { correlationId }),
          }),
        );
      },
    ],
    [
      'POST /leadership/resign',
      async ({ body }) => {
        const o = requireObject(body, ['scope', 'fenceToken', 'correlationId'], RENAMED_FENCE_FIELDS);
        return answerOfWrite(
          await service.resign(
            stringField(o, 'scope'),
            bigintField(o, 'fenceToken'),
            optionalString(o, 'correlationId'),
          ),
        );
      },
    ],
    [
      'POST /leadership/renew',
      async ({ body }) => {
        const o = requireObject(body, ['leases']);
        const leases = o['leases'];
        if (!Array.isArray(leases) || leases.length === 0) {
          throw new ServerError(
            'INVALID_ARGUMENT',
            'leases must be a non-empty array of {"scope","fenceToken"}',
          );
        }
        const refs = leases.map((l) => {
          const lo = requireObject(l, ['scope', 'fenceToken'], RENAMED_FENCE_FIELDS);
          return { scope: stringField(lo, 'scope'), fenceToken: bigintField(lo, 'fenceToken') };
        });
        return { leases: (await service.renewMany(refs)).map(withLeaseTokens) };
      },
    ],
    [
      'GET /control/peers',
      ({ query }) => {
        const s = node.status();
        const peers = peersView(
          {
            status: s,
            version: options.version,
            disk: options.disk?.(),
            clientAddresses: options.peers?.clientAddresses ?? (() => ({ http: undefined, grpc: undefined })),
            selfAddresses: { http: boundAddress, grpc: options.peers?.grpcAddress },
            skewMsMax: options.peers?.skewMsMax ?? PEER_SKEW_MS_DEFAULT,
          },
          parsePeersFilter(query),
        );
        return { answeredBy: s.id, leader: s.leader, term: s.term, healthyMeans: HEALTHY_MEANS, peers };
      },
    ],
    [
      'GET /cluster/members',
      () => {
        const s = node.status();
        return { nodeId: s.id, leader: s.leader, members: members(node) };
      },
    ],
    [
      'POST /cluster/transfer-leader',
      ({ body }) => {
        const o = body === undefined ? {} : requireObject(body, ['to']);
        return transferLeadership(node, optionalString(o, 'to') ?? '', 3000, () => service.notLeader());
      },
    ],
    [
      'POST /cluster/add-learner',
      ({ body }) => {
        const o = requireObject(body, ['id', 'peerAddress', 'clientAddress', 'grpcAddress']);
        const clientAddress = optionalString(o, 'clientAddress');
        const grpcAddress = optionalString(o, 'grpcAddress');
        return changeMembership(
          node,
          {
            type: 'addLearner',
            id: stringField(o, 'id'),
            peerAddress: stringField(o, 'peerAddress'),
            ...(clientAddress === undefined ? {} : { clientAddress }),
            ...(grpcAddress === undefined ? {} : { grpcAddress }),
          },
          () => service.notLeader(),
        );
      },
    ],
    [
      'POST /cluster/promote',
      ({ body }) =>
        changeMembership(node, { type: 'promote', id: stringField(requireObject(body, ['id']), 'id') }, () =>
          service.notLeader(),
        ),
    ],
    [
      'POST /cluster/remove',
      ({ body }) =>
        changeMembership(node, { type: 'remove', id: stringField(requireObject(body, ['id']), 'id') }, () =>
          service.notLeader(),
        ),
    ],
    [
      'GET /cluster/snapshot',
      async ({ res }) => {
        // Taken before the headers, so NOT_LEADER on a follower still forwards to the leader.
        const parts = await takeBackup(node);
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': parts.reduce((n, p) => n + p.length, 0),
        });
        for (const chunk of chunksOf(parts)) {
          if (!res.write(chunk)) {
            await new Promise<void>((resolve) => {
              res.once('drain', resolve);
              res.once('close', resolve);
            });
          }
        }
        res.end();
        return STREAMED;
      },
    ],
    [
      'GET /debug/state',
      () => {
        const fsm = stateMachine.fsm;
        return { ...fsm.stats(), digest: createHash('sha256').update(fsm.snapshot()).digest('hex') };
      },
    ],
    [
      'GET /debug/hops',
      () => {
        if (!hopLedger.enabled) {
          throw new ServerError(
            'NOT_FOUND',
            'the hop ledger is off on this node; start the node with --hop-ledger true (OMNIRELAY_HOP_LEDGER=true)',
          );
        }
        return hopLedger.drain(node.id);
      },
    ],
  ]);

  const tlsFiles = options.tls;
  const access =
    options.access ?? new AccessControl({ enabled: false, clusterId: '', logger: options.logger });
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const socket = req.socket as Partial<TLSSocket>;
    const credentials = credentialsOf(
      header,
      tlsFiles === undefined ? undefined : socket.getPeerCertificate?.call(req.socket),
    );
    const transport = transportOf(req, tlsFiles !== undefined);
    // Each route runs as work for its request once access control has named the caller.
    const serve = <T>(principal: Principal | undefined, fn: () => T): T =>
      withRequest(transport, header, fn, { credentials, principal });
    void serve(undefined, () => handle(req, res, credentials, serve));
  };
  const watcher =
    tlsFiles === undefined
      ? undefined
      : new TlsFileWatcher(tlsFiles, (e) =>
          options.logger.warn({ err: e }, 'client TLS files could not be re-read; keeping the previous ones'),
        );
  // The HTTP/2 compatibility API gives the handlers the subset of IncomingMessage and
  // ServerResponse they use (headers, method, url, httpVersion, writeHead/write/end, streams).
  const server =
    watcher === undefined
      ? createServer(onRequest)
      : createSecureServer(
          {
            allowHTTP1: true,
            ...watcher.options,
            requestCert: tlsFiles?.caFile !== undefined,
            rejectUnauthorized: tlsFiles?.caFile !== undefined,
          },
          onRequest as unknown as Parameters<typeof createSecureServer>[1],
        );
  if (watcher !== undefined) options.handshakes?.watch(server, 'http');
  if (watcher !== undefined && 'setSecureContext' in server) {
    watcher.onChange((context) => {
      server.setSecureContext(context);
      options.logger.info('client TLS certificates reloaded for the HTTP port');
    });
  }
  // Every connection, so close can end them all (HTTP/2 sessions included).
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const forwarding =
    options.forwardingTls === undefined ? undefined : new HttpsForwarding(options.forwardingTls);

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    credentials: Credentials,
    serve: <T>(principal: Principal | undefined, fn: () => T) => T,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const transport = transportOf(req, tlsFiles !== undefined);
    const key = `${req.method ?? 'GET'} ${path}`;
    const check = (body: unknown): Principal | undefined =>
      access.checkAll(credentials, key, httpRequirements(key, body), transport);
    // Every request records the negotiated transport (h2 or http/1.1 over TLS, HTTP/1.1 in
    // plaintext; gRPC calls log h2 or h2c), so a future HTTP/3 listener shows up in the same place.
    const started = performance.now();
    res.once('finish', () => {
      options.onRequestFinished?.(res.statusCode);
      options.logger.debug(
        {
          method: req.method,
          path,
          status: res.statusCode,
          transport: transportOf(req, tlsFiles !== undefined),
          ms: Math.round((performance.now() - started) * 10) / 10,
        },
        'http request',
      );
    });
    try {
      if (req.method === 'GET' && path === '/control/events/leadership') {
        check(undefined);
        serveEvents(req, res, url.searchParams, options, streamLimiter);
        return;
      }
      if (req.method === 'GET' && path === '/metrics') {
        check(undefined);
        await sendMetrics(res, options.metrics);
        return;
      }
      const route = routes.get(`${req.method ?? 'GET'} ${path}`);
      if (route === undefined) {
        const known = [...routes.keys(), 'GET /control/events/leadership', 'GET /metrics'].filter((k) =>
          k.endsWith(` ${path}`),
        );
        if (known.length > 0) {
          throw new ServerError(
            'INVALID_ARGUMENT',
            `${req.method ?? ''} is not allowed on ${path}; use ${known.join(' or ')}`,
          );
        }
        throw new ServerError(
          'NOT_FOUND',
          `no route ${req.method ?? ''} ${path}; see the README for the HTTP API`,
        );
      }
      const body = req.method === 'POST' ? await readJson(req, options.bodyBytesMax) : undefined;
      const principal = check(body);
      let answer: unknown;
      try {
        answer = await serve(principal, () => route({ req, res, query: url.searchParams, body }));
      } catch (e) {
        // A request that needs the leader and landed on a follower goes to the leader, once.
        const leaderAddress = isServerError(e, 'NOT_LEADER') ? e.details['leaderAddress'] : undefined;
        const leaderHint = isServerError(e, 'NOT_LEADER') ? e.details['leaderHint'] : undefined;
        if (typeof leaderAddress === 'string' && typeof leaderHint === 'string' && !isForwarded(req)) {
          options.onForwarded?.();
          options.logger.debug(
            { method: req.method, path, forwardedTo: leaderHint, address: leaderAddress },
            'http request forwarded to the leader',
          );
          const leader = { id: leaderHint, address: leaderAddress };
          const secure =
            forwarding === undefined
              ? undefined
              : {
                  agent: forwarding.agent,
                  checkServerIdentity: leaderIdentityCheck(forwarding.files.clusterId, leaderHint),
                };
          if (await forwardToLeader(req, res, body, leader, node.id, credentials, secure)) return;
        }
        throw e;
      }
      if (answer !== STREAMED) send(res, 200, answer);
    } catch (e) {
      sendError(res, e, options.logger, path);
    }
  }

  const [host, portText] = splitHostPort(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: Error) =>
      reject(new Error(`cannot listen for clients on ${options.address}: ${e.message}; is the port free?`)),
    );
    server.listen(Number(portText), host, () => resolve());
  });
  const bound = server.address();
  const address = typeof bound === 'object' && bound !== null ? `${host}:${bound.port}` : options.address;
  boundAddress = address;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        watcher?.close();
        forwarding?.close();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/**
 * transportOf is the negotiated protocol of a request, as logs and audit events record it:
 * `h2` or `http/1.1` (the ALPN names) over TLS, `HTTP/1.1` in plaintext.
 */
export function transportOf(req: IncomingMessage, secure: boolean): string {
  if (!secure) return `HTTP/${req.httpVersion}`;
  return req.httpVersion === '2.0' ? 'h2' : 'http/1.1';
}

/**
 * serveEvents streams holder changes as Server-Sent Events: one message per revision (`id` is the
 * revision), resuming after `Last-Event-ID` (or from `?fromRevision=`). A compacted revision is
 * answered with 410 and the oldest available; a client that falls behind is cut off with an
 * `error` event naming the revision to resume from. Each stream is a watcher of `limiter`: past
 * watchersMax it is answered 429 LIMIT_REACHED naming the limit (an HTTP/1.1 connection carries
 * one stream at a time, so only the node-wide bound applies).
 */
function serveEvents(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  options: HttpServerOptions,
  limiter: StreamLimiter,
): void {
  const lastEventId = req.headers['last-event-id'];
  let fromRevision: number | undefined;
  if (typeof lastEventId === 'string' && lastEventId !== '') {
    fromRevision = intField({ 'Last-Event-ID': lastEventId }, 'Last-Event-ID') + 1;
  } else if (query.get('fromRevision') !== null) {
    fromRevision = intField({ fromRevision: query.get('fromRevision') }, 'fromRevision');
  }
  let open = true;
  let release: (() => void) | undefined;
  const finish = (): void => {
    open = false;
    clearInterval(ping);
    watch?.cancel();
    release?.();
  };
  const ping = setInterval(() => res.write(': ping\n\n'), 10_000);
  ping.unref();
  let watch: { cancel(): void } | undefined;
  const sink = {
    deliver: (batch: RevisionEvents): boolean => {
      if (!open) return true;
      const data = { revision: batch.revision, events: batch.events.map(leadershipEventJson) };
      res.write(`id: ${batch.revision}\nevent: leadership\ndata: ${JSON.stringify(toJson(data))}\n\n`);
      return res.writableLength <= SSE_BUFFER_BYTES_MAX;
    },
    close: (error: ServerError | undefined): void => {
      if (!open) return;
      if (error !== undefined) {
        res.write(
          `event: error\ndata: ${JSON.stringify({ error: { code: error.code, message: error.message, ...error.details } })}\n\n`,
        );
      }
      finish();
      res.end();
    },
  };
  try {
    // Headers only once the watch is accepted, so a compacted revision can still get a 410.
    const pending: RevisionEvents[] = [];
    release = limiter.admit({ stream: false, watcher: true, connection: undefined });
    watch = options.service.watch(query.get('prefix') ?? '', fromRevision, {
      deliver: (b) => (res.headersSent ? sink.deliver(b) : (pending.push(b), true)),
      close: sink.close,
    });
    // HTTP/2 forbids connection-specific headers; its streams stay open by themselves.
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      ...(req.httpVersion === '2.0' ? {} : { connection: 'keep-alive' }),
    });
    res.write(`: watching from revision ${String(fromRevision ?? options.hub.currentRevision + 1)}\n\n`);
    for (const b of pending) sink.deliver(b);
  } catch (e) {
    finish();
    sendError(res, e, options.logger, '/control/events/leadership');
    return;
  }
  req.on('close', finish);
}

/**
 * answerOfWrite is a write's JSON answer: its leases as lease tokens (withLeaseTokens) and its
 * `raftTerm` as a decimal string, like every other uint64 of the JSON API (fence tokens), so it
 * matches the gRPC `raft_term`.
 */
function answerOfWrite(answer: AppliedTerm): Record<string, unknown> {
  return { ...withLeaseTokens(answer), raftTerm: String(answer.raftTerm) };
}

/**
 * RENAMED_FENCE_FIELDS are request fields that name the fence token by another name (the CLI's
 * `--fence`, the SDK's `lease.fence`): refused with a message naming `fenceToken`, the DISC-002 name.
 */
const RENAMED_FENCE_FIELDS: Readonly<Record<string, string>> = {
  fence: 'fenceToken',
  fence_token: 'fenceToken',
};

function statusBody(options: HttpServerOptions, clientAddress: string): unknown {
  const s = options.node.status();
  const stats = options.stateMachine.fsm.stats();
  return {
    id: s.id,
    version: options.version,
    role: s.role,
    term: s.term,
    leader: s.leader,
    transferringTo: s.transferee,
    commit: s.commit,
    applied: s.applied,
    firstIndex: s.firstIndex,
    lastIndex: s.lastIndex,
    snapshotIndex: s.snapshotIndex,
    logBytes: s.logBytes,
    membership: s.membership,
    incarnation: s.incarnation,
    staleMembers: s.staleMembers,
    leaseClock: {
      nowMs: options.stateMachine.clock.now(),
      wallOffsetMs: options.stateMachine.clock.wallOffsetMs(),
    },
    peers: Object.fromEntries(
      Object.entries(s.peers).map(([id, p]) => [id, { ...p, ...(s.progress[id] ?? {}) }]),
    ),
    transport: s.transport,
    messagesRefused: s.messagesRefused,
    proposalsPending: s.proposalsPending,
    disk: options.disk?.() ?? null,
    auth: {
      ...(options.auth?.() ?? { enabled: false, tokens: null }),
      clientCertificates: options.tls?.caFile === undefined ? 'none' : 'required',
    },
    eventLoopStall: s.eventLoopStall,
    electionStretchMs: s.electionStretchMs,
    admission: options.service.admission.status(),
    lastCompaction: s.lastCompaction ?? null,
    leadership: {
      scopes: stats.scopeCount,
      leases: stats.leaseCount,
      waiting: stats.waitingCount,
      revision: options.hub.currentRevision,
      oldestWatchRevision: options.hub.oldestAvailable,
      watchers: options.hub.watcherCount,
    },
    clientAddress,
    peerAddress: s.peerAddress,
    fatalError: s.fatalError ?? null,
  };
}

/**
 * readiness answers GET /readyz: ready once a leader is known and everything committed is
 * applied; otherwise NO_QUORUM (503) saying which.
 */
export function readiness(node: RaftNode<ApplyResult>): { ready: true; leader: string; term: number } {
  const s = node.status();
  if (s.leader === '') throw new ServerError('NO_QUORUM', 'not ready: no leader is known yet');
  if (s.applied < s.commit) {
    throw new ServerError('NO_QUORUM', `not ready: applied ${s.applied} of ${s.commit} committed entries`);
  }
  return { ready: true, leader: s.leader, term: s.term };
}

/** MetricsSource renders the Prometheus exposition. */
export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

/** sendMetrics answers GET /metrics: the exposition `metrics` renders now. */
export async function sendMetrics(res: ServerResponse, metrics: MetricsSource): Promise<void> {
  const text = await metrics.render();
  res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** send answers `body` as JSON with `status` (and `headers`). */
export function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(toJson(body));
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** sendError answers `e` as the JSON error body with its code's HTTP status. */
export function sendError(res: ServerResponse, e: unknown, logger: Logger, path: string): void {
  const error = toServerError(e);
  if (error.code === 'INTERNAL') logger.error({ err: e, path }, 'request failed; this is a bug');
  if (res.headersSent) {
    res.end();
    return;
  }
  // A refusal that says when to ask again says it the HTTP way too (whole seconds, rounded up).
  const retryAfterMs = error.details['retryAfterMs'];
  send(
    res,
    ERROR_TABLE[error.code].httpStatus,
    { error: { code: error.code, message: error.message, ...error.details } },
    typeof retryAfterMs === 'number' ? { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) } : {},
  );
}

async function readJson(req: IncomingMessage, bytesMax: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.byteLength;
    if (bytes > bytesMax)
      throw new ServerError('PAYLOAD_TOO_LARGE', `request body exceeds ${bytesMax} bytes`);
    chunks.push(chunk);
  }
  if (bytes === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new ServerError('INVALID_ARGUMENT', 'request body is not valid JSON');
  }
}

function splitHostPort(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), address.slice(i + 1)];
}
