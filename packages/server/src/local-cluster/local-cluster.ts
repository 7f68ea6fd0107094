import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { SERVER_NODE_ENV, SERVER_NODE_FLAGS } from '../runtime-flags';

/** LocalClusterOptions configures a cluster of server processes on 127.0.0.1. */
export interface LocalClusterOptions {
  /** size is the number of voters (1-7). */
  readonly size: number;
  /** dataRoot holds one data folder per node and a logs/ folder. */
  readonly dataRoot: string;
  /** basePort: node i listens for peers on basePort+i, HTTP on basePort+100+i, gRPC on basePort+200+i; 0 picks free ports. */
  readonly basePort: number;
  /**
   * extraArgs are passed to every node after the generated flags, so they win (e.g.
   * `--snapshot-entries 100`, or `--peer-grpc ''` for followers that do not forward gRPC calls).
   */
  readonly extraArgs?: readonly string[];
  /**
   * nodeArgs are Node.js flags for every node process, after SERVER_NODE_FLAGS and before its entry script (e.g.
   * `['--cpu-prof', '--cpu-prof-dir', dir]`: a node writes its profile when it exits cleanly).
   */
  readonly nodeArgs?: readonly string[];
  /**
   * nodeEnv adds environment variables to one node's process (e.g. libfaketime's LD_PRELOAD and
   * FAKETIME_* for a node whose wall clock a test steps). A node's environment is SERVER_NODE_ENV,
   * then this process's environment, then nodeEnv: later sources win, so an explicit
   * MALLOC_ARENA_MAX in the environment replaces the default and nodeEnv replaces both.
   */
  readonly nodeEnv?: (id: string) => Readonly<Record<string, string>>;
  /** logLevel of the nodes (their logs go to dataRoot/logs/<id>.log). */
  readonly logLevel?: string;
  /**
   * clientTls makes the cluster's own HTTP calls (status, get, post) over HTTPS, trusting
   * `caFile` and presenting `certFile`/`keyFile` when given: for nodes whose client ports speak
   * TLS (their --client-tls-* flags come through nodeEnv or extraArgs).
   */
  readonly clientTls?: { readonly caFile: string; readonly certFile?: string; readonly keyFile?: string };
  /** authToken is the bearer token the cluster's own HTTP calls send (nodes with --auth-tokens-file). */
  readonly authToken?: string;
  /**
   * nodeTls turns TLS on for every node: mutual TLS between peers (--peer-tls-ca, --peer-tls-cert,
   * --peer-tls-key) and TLS on the client ports with required client certificates
   * (--client-tls-cert, --client-tls-key, --client-tls-ca), all signed by `caFile`; `files(id)` is
   * node `id`'s certificate and key, which must name spiffe://<clusterId>/node/<id>, so the nodes
   * run with --cluster-id `clusterId`. Give clientTls too, so the cluster's own calls get through.
   */
  readonly nodeTls?: {
    readonly clusterId: string;
    readonly caFile: string;
    readonly files: (id: string) => { readonly certFile: string; readonly keyFile: string };
  };
  /** onExit is told when a node exits on its own (not through stop/kill). */
  readonly onExit?: (id: string, code: number | null, signal: NodeJS.Signals | null) => void;
}

/** LocalNode is one server process of a LocalCluster. */
export interface LocalNode {
  readonly id: string;
  readonly peerAddress: string;
  readonly clientAddress: string;
  readonly grpcAddress: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** join: this node was not in the first configuration; it starts with --join and waits to be added. */
  readonly join: boolean;
  process: ChildProcess | undefined;
  /** exited says how the last process of this node ended on its own (not through stop/kill). */
  exited: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined;
}

/** NodeStatus is the subset of GET /status the cluster helpers read. */
export interface NodeStatus {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string;
  /** transferringTo is the member a leader hands leadership to while a transfer is under way ('' when none). */
  readonly transferringTo: string;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly transport: { readonly snapshotsReceived: number };
  readonly membership: {
    readonly voters: readonly string[];
    readonly learners: readonly string[];
    readonly incarnations?: Readonly<Record<string, string>>;
  };
  /** incarnation is the id of the node's store; staleMembers, the members bound to another one. */
  readonly incarnation: string;
  readonly staleMembers: Readonly<Record<string, string>>;
  /** electionStretchMs is how much longer than its election timeout the node waits for a leader that was lately slow. */
  readonly electionStretchMs: number;
}

/** HttpReply is a node's answer: status, parsed JSON body (a string for a text/* answer) and response headers. */
export interface HttpReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** handedOut holds every port freePort returned in this process, so it never returns one twice. */
const handedOut = new Set<number>();

/**
 * PORT_RANGE is where freePort looks: below the kernel's ephemeral range, because a port picked
 * inside it can be taken as the source port of any outgoing connection (the node's own peers, the
 * test's clients) between the probe closing and the server binding it; EADDRINUSE then kills the
 * node at start. Read once; the whole unprivileged range where the kernel does not say.
 */
const PORT_RANGE: { readonly lo: number; readonly hi: number } = (() => {
  try {
    const [ephemeralLo] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (ephemeralLo !== undefined && ephemeralLo > 12_000) return { lo: 10_000, hi: ephemeralLo - 1 };
  } catch {
    // not Linux: any unprivileged port
  }
  return { lo: 10_000, hi: 65_535 };
})();

/**
 * FETCH_BLOCKED_PORTS are the ports of PORT_RANGE that the WHATWG fetch standard refuses to
 * connect to ("bad ports"; the rest of its list is below 10,000): Node's fetch fails there with
 * "bad port", so a node listening on one cannot be read by a test's fetch (a CI run failed so).
 */
const FETCH_BLOCKED_PORTS: ReadonlySet<number> = new Set([10_080]);

/** probe resolves true when `port` can be bound on 127.0.0.1 right now. */
function probe(port: number): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const srv = createServer();
    srv.once('error', () => resolveProbe(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolveProbe(true)));
  });
}

/**
 * freePort returns a TCP port on 127.0.0.1 that was free when probed, outside the ephemeral range
 * (see PORT_RANGE), one fetch can reach (see FETCH_BLOCKED_PORTS), and never returned before by
 * this process. Random picks keep parallel test workers apart.
 */
export async function freePort(): Promise<number> {
  const { lo, hi } = PORT_RANGE;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = lo + Math.floor(Math.random() * (hi - lo + 1));
    if (handedOut.has(port) || FETCH_BLOCKED_PORTS.has(port)) continue;
    if (await probe(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port on 127.0.0.1 between ${lo} and ${hi} after 200 tries`);
}

/**
 * serverEntry returns how to start the server's main module: the built JavaScript when this file
 * runs from dist/, the TypeScript source through @swc-node/register when it runs from src/ (tests).
 */
function serverEntry(): string[] {
  if (__filename.endsWith('.ts')) return ['-r', '@swc-node/register', resolve(__dirname, '../main.ts')];
  return [resolve(__dirname, '../main.js')];
}

/**
 * LocalCluster runs N server processes on 127.0.0.1, each with its own data folder and log file,
 * and stops every one of them by PID. It backs `npm start`, the multi-process tests and the
 * benchmarks.
 */
export class LocalCluster {
  /** nodes are the members, n1..nN. */
  readonly nodes: LocalNode[] = [];

  /** agent keeps connections to the client ports alive: fetch() costs a new request pipeline each time. */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  /** httpsAgent is `agent` for client ports that speak TLS (options.clientTls); see reloadClientTls. */
  private httpsAgent: HttpsAgent | undefined;

  /**
   * newCluster is true when no member had a data folder when the cluster was created: only then do
   * the first members start with --initial-cluster-state new, and only the first time. A member
   * restarted after its folder is gone (or, in a cluster that already has data, the only one
   * without) starts `existing`: it waits to be added back, as an operator would have it, instead
   * of bootstrapping a cluster of its own.
   */
  private newCluster = true;
  /** started lists the members started at least once. */
  private readonly started = new Set<string>();

  private constructor(private readonly options: LocalClusterOptions) {
    this.httpsAgent = LocalCluster.httpsAgentOf(options.clientTls);
  }

  /**
   * reloadClientTls re-reads the clientTls files (a test rotating the client CA or the cluster's
   * own client certificate): later requests open connections with what they hold now, and the
   * connections made with the files read before are closed.
   */
  reloadClientTls(): void {
    const previous = this.httpsAgent;
    this.httpsAgent = LocalCluster.httpsAgentOf(this.options.clientTls);
    previous?.destroy();
  }

  /** httpsAgentOf builds the agent that presents and trusts the `tls` files, or undefined without them. */
  private static httpsAgentOf(tls: LocalClusterOptions['clientTls']): HttpsAgent | undefined {
    if (tls === undefined) return undefined;
    return new HttpsAgent({
      keepAlive: true,
      maxSockets: 256,
      ca: readFileSync(tls.caFile),
      ...(tls.certFile === undefined ? {} : { cert: readFileSync(tls.certFile) }),
      ...(tls.keyFile === undefined ? {} : { key: readFileSync(tls.keyFile) }),
    });
  }

  /** create allocates addresses and folders (without starting anything). */
  static async create(options: LocalClusterOptions): Promise<LocalCluster> {
    if (!Number.isInteger(options.size) || options.size < 1 || options.size > 7) {
      throw new Error(`size must be 1 to 7 nodes, got ${options.size}`);
    }
    const cluster = new LocalCluster(options);
    mkdirSync(join(options.dataRoot, 'logs'), { recursive: true });
    for (let i = 1; i <= options.size; i++) {
      const peerPort = options.basePort === 0 ? await freePort() : options.basePort + i;
      const clientPort = options.basePort === 0 ? await freePort() : options.basePort + 100 + i;
      const grpcPort = options.basePort === 0 ? await freePort() : options.basePort + 200 + i;
      cluster.nodes.push({
        id: `n${i}`,
        peerAddress: `127.0.0.1:${peerPort}`,
        clientAddress: `127.0.0.1:${clientPort}`,
        grpcAddress: `127.0.0.1:${grpcPort}`,
        dataDir: join(options.dataRoot, `n${i}`),
        logFile: join(options.dataRoot, 'logs', `n${i}.log`),
        join: false,
        process: undefined,
        exited: undefined,
      });
    }
    cluster.newCluster = cluster.nodes.every((n) => !existsSync(n.dataDir));
    return cluster;
  }

  /**
   * addJoiningNode allocates the next node (n<size+1>, ...) with free ports and --join, without
   * starting it: the running members learn its address only when it is added as a learner.
   */
  async addJoiningNode(): Promise<LocalNode> {
    if (this.nodes.length >= 15) throw new Error('at most 15 nodes in a local cluster');
    const id = `n${this.nodes.length + 1}`;
    const node: LocalNode = {
      id,
      peerAddress: `127.0.0.1:${await freePort()}`,
      clientAddress: `127.0.0.1:${await freePort()}`,
      grpcAddress: `127.0.0.1:${await freePort()}`,
      dataDir: join(this.options.dataRoot, id),
      logFile: join(this.options.dataRoot, 'logs', `${id}.log`),
      join: true,
      process: undefined,
      exited: undefined,
    };
    this.nodes.push(node);
    return node;
  }

  /** node returns the member with `id`. */
  node(id: string): LocalNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** startAll starts every node. */
  startAll(): void {
    for (const n of this.nodes) this.start(n.id);
  }

  /** start starts one node's process (its log is appended to); `overrides` come last, so they win. */
  start(id: string, overrides: readonly string[] = []): void {
    const n = this.node(id);
    if (n.process !== undefined) throw new Error(`${id} is already running (pid ${String(n.process.pid)})`);
    const peers = this.nodes
      .filter((p) => p.id !== id)
      .map((p) => `${p.id}=${p.peerAddress}`)
      .join(',');
    const peerClients = this.nodes
      .filter((p) => p.id !== id)
      .map((p) => `${p.id}=${p.clientAddress}`)
      .join(',');
    const peerGrpc = this.nodes
      .filter((p) => p.id !== id)
      .map((p) => `${p.id}=${p.grpcAddress}`)
      .join(',');
    const args = [
      ...SERVER_NODE_FLAGS,
      ...(this.options.nodeArgs ?? []),
      ...serverEntry(),
      '--id',
      id,
      '--peer-address',
      n.peerAddress,
      '--client-address',
      n.clientAddress,
      '--grpc-address',
      n.grpcAddress,
      '--peers',
      peers,
      '--peer-clients',
      peerClients,
      '--peer-grpc',
      peerGrpc,
      '--data-dir',
      n.dataDir,
      '--log-level',
      this.options.logLevel ?? 'info',
      ...(n.join ? ['--join', 'true'] : []),
      ...this.tlsArgs(id),
      '--initial-cluster-state',
      this.newCluster && !n.join && !this.started.has(id) ? 'new' : 'existing',
      ...(this.options.extraArgs ?? []),
      ...overrides,
    ];
    this.started.add(id);
    const log = openSync(n.logFile, 'a');
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', log, log],
      cwd: process.cwd(),
      env: { ...SERVER_NODE_ENV, ...process.env, ...(this.options.nodeEnv?.(id) ?? {}) },
    });
    closeSync(log);
    n.process = child;
    n.exited = undefined;
    child.on('exit', (code, signal) => {
      if (n.process === child) {
        n.process = undefined;
        n.exited = { code, signal };
        this.options.onExit?.(id, code, signal);
      }
    });
  }

  /** tlsArgs are node `id`'s TLS flags (options.nodeTls), none without it. */
  private tlsArgs(id: string): string[] {
    const tls = this.options.nodeTls;
    if (tls === undefined) return [];
    const { certFile, keyFile } = tls.files(id);
    return [
      '--cluster-id',
      tls.clusterId,
      '--peer-tls-ca',
      tls.caFile,
      '--peer-tls-cert',
      certFile,
      '--peer-tls-key',
      keyFile,
      '--client-tls-cert',
      certFile,
      '--client-tls-key',
      keyFile,
      '--client-tls-ca',
      tls.caFile,
    ];
  }

  /** kill sends `signal` (default SIGKILL) to one node by PID and waits for it to exit. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const n = this.node(id);
    const child = n.process;
    if (child?.pid === undefined) return;
    n.process = undefined;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    process.kill(child.pid, signal);
    await exited;
  }

  /** stopAll asks every node to shut down (SIGTERM), and SIGKILLs any still running after `graceMs`. */
  async stopAll(graceMs = 10_000): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        const child = n.process;
        if (child?.pid === undefined) return;
        n.process = undefined;
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(() => child.pid !== undefined && child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.agent.destroy();
    this.httpsAgent?.destroy();
  }

  /** status fetches GET /status from one node, or undefined when it does not answer within `timeoutMs`. */
  async status(id: string, timeoutMs = 1000): Promise<NodeStatus | undefined> {
    try {
      return (await this.get(id, '/status', timeoutMs)).body as NodeStatus;
    } catch {
      return undefined;
    }
  }

  /** leader returns the id every running node agrees leads, or undefined. */
  async leader(): Promise<string | undefined> {
    const running = this.nodes.filter((n) => n.process !== undefined);
    const statuses = await Promise.all(running.map((n) => this.status(n.id)));
    const leaders = statuses.filter((s): s is NodeStatus => s !== undefined && s.role === 'leader');
    if (leaders.length !== 1) return undefined;
    return leaders[0]!.id;
  }

  /**
   * waitForLeader polls until a single leader is known. It throws after `timeoutMs`, or at once
   * when every started node has exited on its own, with each one's exit status and last log line.
   */
  async waitForLeader(timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    const exits = (): string =>
      this.nodes
        .filter((n) => n.exited !== undefined)
        .map((n) => this.exitReport(n))
        .join('; ');
    while (Date.now() < deadline) {
      const l = await this.leader();
      if (l !== undefined) return l;
      if (
        this.nodes.every((n) => n.process === undefined) &&
        this.nodes.some((n) => n.exited !== undefined)
      ) {
        throw new Error(`no leader: every node has exited: ${exits()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const exited = exits();
    throw new Error(
      `no leader within ${timeoutMs} ms${exited === '' ? '' : ` (${exited})`}; ` +
        `see the logs in ${join(this.options.dataRoot, 'logs')}`,
    );
  }

  /** exitReport says how a node exited and what it last logged. */
  private exitReport(n: LocalNode): string {
    const how = n.exited?.signal ?? `code ${String(n.exited?.code)}`;
    let last = '';
    try {
      last = readFileSync(n.logFile, 'utf8').trimEnd().split('\n').pop() ?? '';
    } catch {
      last = '(no log)';
    }
    return `${n.id} exited (${how}), last logged: ${last.slice(0, 300)}`;
  }

  /** post sends a JSON POST to a node's client port and returns the status, parsed body and headers. */
  post(
    id: string,
    path: string,
    body: unknown,
    timeoutMs = 5000,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<HttpReply> {
    return this.request(id, 'POST', path, JSON.stringify(body), timeoutMs, headers);
  }

  /** get sends a GET to a node's client port and returns the status, parsed body and headers. */
  get(id: string, path: string, timeoutMs = 5000): Promise<HttpReply> {
    return this.request(id, 'GET', path, undefined, timeoutMs, {});
  }

  private request(
    id: string,
    method: string,
    path: string,
    body: string | undefined,
    timeoutMs: number,
    extraHeaders: Readonly<Record<string, string>>,
  ): Promise<HttpReply> {
    const [host, port] = this.node(id).clientAddress.split(':');
    const httpsAgent = this.httpsAgent;
    return new Promise((resolveResponse, reject) => {
      const headers: Record<string, string | number> = {
        ...(this.options.authToken === undefined
          ? {}
          : { authorization: `Bearer ${this.options.authToken}` }),
        ...extraHeaders,
      };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const target = { host, port: Number(port), method, path, headers, timeout: timeoutMs };
      const req = (
        httpsAgent === undefined
          ? (onAnswer: (res: IncomingMessage) => void) => request({ ...target, agent: this.agent }, onAnswer)
          : (onAnswer: (res: IncomingMessage) => void) =>
              httpsRequest({ ...target, agent: httpsAgent }, onAnswer)
      )((res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const text = Buffer.concat(chunks).toString('utf8');
            // A text answer (GET /metrics) is handed over as it is; everything else is JSON.
            const isText = res.headers['content-type']?.startsWith('text/') === true;
            resolveResponse({
              status: res.statusCode ?? 0,
              body: isText ? text : JSON.parse(text),
              headers: res.headers,
            });
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () =>
        req.destroy(new Error(`${method} ${path} to ${id} timed out after ${timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}
