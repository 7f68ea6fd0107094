import { request } from 'node:http';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanupRegistry } from '../harness/cleanup';
import type { FakeClock } from '../harness/clocks';
import { ManagedProcess } from '../harness/processes';
import type { ProcessSpec } from '../harness/processes';
import type { SmallDisk } from '../harness/disk';
import type { Address, Topology } from './topology';
import { REPO_ROOT, SWC_ENV, Topology as TopologyClass, swcArgs } from './topology';
import { SERVER_NODE_ENV, SERVER_NODE_FLAGS } from '@omnirelay/server';

/** HTTP_TIMEOUT_MS bounds each harness call to a node's client port. */
export const HTTP_TIMEOUT_MS = 3000;
/** LEADER_WAIT_MS_MAX bounds how long the harness waits for a leader. */
export const LEADER_WAIT_MS_MAX = 60_000;
/** TRANSFER_ATTEMPTS_MAX bounds the leadership transfers the harness asks for to put a node in office. */
export const TRANSFER_ATTEMPTS_MAX = 5;
/** TRANSFER_WAIT_MS_MAX bounds how long the harness waits for one transfer to take effect. */
export const TRANSFER_WAIT_MS_MAX = 5000;

/** BROKEN_SERVER_ENTRIES maps each deliberately broken server build to its entry (test-only files in chaos/). */
export const BROKEN_SERVER_ENTRIES = {
  'server-reuses-fence': 'chaos/src/broken/server-reusing-fences.ts',
  'server-never-expires': 'chaos/src/broken/server-never-expiring.ts',
} as const;

/** ServerBuild says which server entry the nodes run: the real one or a deliberately broken one. */
export type ServerBuild = 'real' | keyof typeof BROKEN_SERVER_ENTRIES;

/** serverArgv returns the argv of the server's main, with SERVER_NODE_FLAGS: dist/main.js when built, else the source through swc. */
export function serverArgv(build: ServerBuild): string[] {
  if (build !== 'real') {
    const entry = join(REPO_ROOT, BROKEN_SERVER_ENTRIES[build]);
    if (!TopologyClass.haveFile(entry)) throw new Error(`the broken build ${entry} is not there`);
    return swcArgs(entry);
  }
  const built = join(REPO_ROOT, 'packages/server/dist/main.js');
  const [node, ...rest] = TopologyClass.haveFile(built)
    ? [process.execPath, built]
    : swcArgs(join(REPO_ROOT, 'packages/server/src/main.ts'));
  return [node!, ...SERVER_NODE_FLAGS, ...rest];
}

/**
 * serverEnv is the environment a server process adds to the harness's own (SERVER_NODE_ENV): each
 * variable's value in `environment` when set there (an explicit MALLOC_ARENA_MAX for an
 * experiment), else the default, so an operator's value wins as in LocalCluster.
 */
export function serverEnv(environment: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(SERVER_NODE_ENV).map(([name, value]) => [name, environment[name] ?? value]),
  );
}

/** NodeStatusView is the part of GET /status the harness reads. */
export interface NodeStatusView {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string;
  readonly leadership?: { readonly revision: number };
}

/** HttpAnswer is a node's answer: status code and parsed body. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
}

function addr(a: Address): string {
  return `${a.host}:${a.port}`;
}

/**
 * ChaosCluster runs the server processes of a run, each in its place of the Topology, and talks
 * to their client ports over HTTP. Every process is stopped by PID through the cleanup registry.
 */
export class ChaosCluster {
  readonly processes = new Map<string, ManagedProcess>();
  /** members are the nodes in the current configuration (the harness's view). */
  readonly members: string[];
  private readonly started = new Set<string>();
  private readonly specs = new Map<string, ProcessSpec>();

  constructor(
    readonly topology: Topology,
    initial: readonly string[],
    private readonly options: {
      readonly runDir: string;
      readonly electionTimeoutMs: number;
      readonly build: ServerBuild;
      readonly clocks: ReadonlyMap<string, FakeClock>;
      readonly disks: ReadonlyMap<string, SmallDisk>;
      readonly cleanup: CleanupRegistry;
    },
  ) {
    this.members = [...initial];
  }

  /** dataDir is node `id`'s data folder. */
  dataDir(id: string): string {
    return join(this.options.runDir, 'data', id);
  }

  private spec(id: string, join_: boolean): ProcessSpec {
    const existing = this.specs.get(id);
    if (existing !== undefined) return existing;
    const n = this.topology.node(id);
    const others = [...this.topology.nodes.keys()].filter(
      (o) => o !== id && (join_ || this.members.includes(o)),
    );
    const list = (f: (o: string) => Address): string => others.map((o) => `${o}=${addr(f(o))}`).join(',');
    mkdirSync(this.dataDir(id), { recursive: true });
    const argv = [
      ...this.topology.execPrefix(id),
      ...serverArgv(this.options.build),
      '--id',
      id,
      '--peer-address',
      addr(n.peer),
      '--client-address',
      addr(n.client),
      '--grpc-address',
      addr(n.grpc),
      '--peers',
      list((o) => n.peersVia[o] ?? this.topology.node(o).peer),
      '--peer-clients',
      list((o) => this.topology.node(o).client),
      '--peer-grpc',
      list((o) => this.topology.node(o).grpc),
      '--data-dir',
      this.dataDir(id),
      '--election-timeout-ms',
      String(this.options.electionTimeoutMs),
      '--log-level',
      'info',
      ...(this.topology.mode === 'netns' ? ['--insecure', 'true'] : []),
      ...(join_ ? ['--join', 'true'] : []),
    ];
    const spec: ProcessSpec = {
      name: id,
      argv,
      env: { ...serverEnv(), ...SWC_ENV, ...(this.options.clocks.get(id)?.env() ?? {}) },
      logFile: join(this.options.runDir, 'logs', `${id}.log`),
    };
    this.specs.set(id, spec);
    return spec;
  }

  /** start starts node `id` (new cluster the first time for the first members; `join` for a node added later). */
  start(id: string, options: { join?: boolean } = {}): void {
    const spec = this.spec(id, options.join === true);
    if (this.processes.get(id)?.running === true) throw new Error(`${id} is already running`);
    const first = !this.started.has(id) && options.join !== true;
    this.started.add(id);
    const argv = [...spec.argv, '--initial-cluster-state', first ? 'new' : 'existing'];
    const runner = new ManagedProcess({ ...spec, argv }, this.options.cleanup);
    this.processes.set(id, runner);
    runner.start();
  }

  /** process returns node `id`'s process handle. */
  process(id: string): ManagedProcess {
    const p = this.processes.get(id);
    if (p === undefined) throw new RangeError(`node ${id} was never started`);
    return p;
  }

  /** running lists the nodes whose process runs (paused ones included). */
  running(): string[] {
    return [...this.processes.entries()].filter(([, p]) => p.running).map(([id]) => id);
  }

  /** wipe removes node `id`'s data folder (it must not be running). */
  wipe(id: string): void {
    rmSync(this.dataDir(id), { recursive: true, force: true });
    mkdirSync(this.dataDir(id), { recursive: true });
  }

  /** http sends one request to node `id`'s client port (through its unix socket in namespaces). */
  http(
    id: string,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    timeoutMs = HTTP_TIMEOUT_MS,
  ): Promise<HttpAnswer> {
    const n = this.topology.node(id);
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          ...(n.httpSocket === undefined
            ? { host: n.client.host, port: n.client.port }
            : { socketPath: n.httpSocket }),
          method,
          path,
          timeout: timeoutMs,
          headers:
            text === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = raw;
            try {
              parsed = JSON.parse(raw);
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} to ${id} timed out`)));
      req.on('error', reject);
      req.end(text);
    });
  }

  /** status returns node `id`'s GET /status, or undefined when it does not answer. */
  async status(id: string): Promise<NodeStatusView | undefined> {
    try {
      const a = await this.http(id, 'GET', '/status', undefined, 1000);
      return a.status === 200 ? (a.body as NodeStatusView) : undefined;
    } catch {
      return undefined;
    }
  }

  /** leader returns the leader with the highest term among the running members, or undefined. */
  async leader(): Promise<string | undefined> {
    const statuses = await Promise.all(this.running().map((id) => this.status(id)));
    const leaders = statuses
      .filter((s): s is NodeStatusView => s !== undefined && s.role === 'leader')
      .sort((a, b) => b.term - a.term);
    return leaders[0]?.id;
  }

  /** waitForLeader polls (every 100 ms, at most `timeoutMs`) until a leader is known. */
  async waitForLeader(timeoutMs = LEADER_WAIT_MS_MAX): Promise<string> {
    const deadline = Date.now() + Math.min(timeoutMs, LEADER_WAIT_MS_MAX);
    while (Date.now() < deadline) {
      const l = await this.leader();
      if (l !== undefined) return l;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no leader within ${timeoutMs} ms; see the logs in ${join(this.options.runDir, 'logs')}`);
  }

  /**
   * transferLeadership makes node `id` the leader unless it already leads: it asks the leader to
   * transfer (POST /cluster/transfer-leader) and waits until `id` leads, at most
   * TRANSFER_ATTEMPTS_MAX times TRANSFER_WAIT_MS_MAX.
   */
  async transferLeadership(id: string): Promise<void> {
    for (let attempt = 0; attempt < TRANSFER_ATTEMPTS_MAX; attempt++) {
      if ((await this.leader()) === id) return;
      await this.leaderCall('/cluster/transfer-leader', { to: id }, 5);
      const deadline = Date.now() + TRANSFER_WAIT_MS_MAX;
      while (Date.now() < deadline) {
        if ((await this.leader()) === id) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(
      `${id} did not become the leader after ${TRANSFER_ATTEMPTS_MAX} transfers; see the logs in ${join(this.options.runDir, 'logs')}`,
    );
  }

  /**
   * leaderCall sends a request to the current leader, retrying on another leader (or after a
   * pause) until it answers 2xx or `attempts` are used; it returns the last answer.
   */
  async leaderCall(path: string, body: unknown, attempts = 20): Promise<HttpAnswer> {
    let last: HttpAnswer = { status: 0, body: 'no leader' };
    for (let i = 0; i < attempts; i++) {
      const l = await this.leader();
      if (l !== undefined) {
        try {
          last = await this.http(l, 'POST', path, body, 5000);
          if (last.status >= 200 && last.status < 300) return last;
        } catch (e) {
          last = { status: 0, body: e instanceof Error ? e.message : String(e) };
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return last;
  }

  /** killAll kills every node (SIGKILL, side by side), by PID, and waits for the exits. */
  async killAll(): Promise<void> {
    await Promise.all([...this.processes.values()].map((p) => p.kill()));
  }

  /** stopAll stops every node (SIGTERM, then SIGKILL), by PID. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.processes.values()].map((p) => p.stop()));
  }
}
