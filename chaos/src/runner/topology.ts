import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { CleanupRegistry } from '../harness/cleanup';
import type { Network } from '../harness/network';
import { createNetwork, sweepLeftovers } from '../harness/network';
import { ManagedProcess } from '../harness/processes';
import type { LinkFaults } from '../harness/proxy';

/** Address is a host and port. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** NodeAddresses are where one node listens, as the other nodes and the clients see it. */
export interface NodeAddresses {
  readonly id: string;
  readonly peer: Address;
  readonly client: Address;
  readonly grpc: Address;
  /** peersVia maps each other node to the address this node dials it at (its link proxy). */
  readonly peersVia: Readonly<Record<string, Address>>;
  /** httpSocket is the unix socket the harness reaches the client port through (namespaces only). */
  readonly httpSocket: string | undefined;
}

/** NETNS_PORTS are the fixed ports inside every node namespace (each namespace has its own ports). */
export const NETNS_PORTS = { peer: 7001, client: 7002, grpc: 7003, proxyBase: 8000 } as const;

/** CLIENT_HOST is the namespace of the store and the workers. */
export const CLIENT_HOST = 'c';

/** TOOL_ROOT is the repository root (chaos/src/runner/../../..). */
export const REPO_ROOT = join(__dirname, '..', '..', '..');

/** swcArgs returns the Node.js argv that runs a TypeScript entry from source. */
export function swcArgs(entry: string): string[] {
  return [process.execPath, '-r', '@swc-node/register', entry];
}

/** SWC_ENV makes @omnirelay/* resolve to each package's source in children run through swc. */
export const SWC_ENV: Readonly<Record<string, string>> = {
  SWC_NODE_PROJECT: process.env['SWC_NODE_PROJECT'] ?? join(REPO_ROOT, 'tsconfig.check.json'),
};

/** freeLoopbackPort asks the kernel for a free port on 127.0.0.1 (loopback mode). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Topology is where a run's processes live and how they reach each other: with network namespaces
 * (one per node and one for the clients, a bridge, addresses only inside them, nft partitions), or
 * on loopback when namespaces cannot be made. Either way every directed peer link goes through a
 * link proxy (latency, jitter, stalls, one-way drops), one proxy process per node.
 */
export class Topology {
  readonly nodes = new Map<string, NodeAddresses>();
  private readonly proxies = new Map<string, ManagedProcess>();

  private constructor(
    readonly mode: 'netns' | 'loopback',
    readonly network: Network | undefined,
    private readonly runDir: string,
    private readonly cleanup: CleanupRegistry,
  ) {}

  /**
   * create lays out `ids` (the first members and any node that joins later). With `netns` it
   * first sweeps namespaces that dead runs left behind, then makes the network.
   */
  static async create(
    ids: readonly string[],
    useNetns: boolean,
    runDir: string,
    cleanup: CleanupRegistry,
  ): Promise<Topology> {
    if (useNetns) {
      sweepLeftovers();
      const network = createNetwork([...ids, CLIENT_HOST], cleanup);
      const t = new Topology('netns', network, runDir, cleanup);
      ids.forEach((id) => {
        const host = network.host(id).address;
        const peersVia: Record<string, Address> = {};
        ids.forEach((other, j) => {
          if (other !== id) peersVia[other] = { host: '127.0.0.1', port: NETNS_PORTS.proxyBase + j + 1 };
        });
        t.nodes.set(id, {
          id,
          peer: { host, port: NETNS_PORTS.peer },
          client: { host, port: NETNS_PORTS.client },
          grpc: { host, port: NETNS_PORTS.grpc },
          peersVia,
          httpSocket: join(runDir, `${id}.http.sock`),
        });
      });
      return t;
    }
    const t = new Topology('loopback', undefined, runDir, cleanup);
    for (const id of ids) {
      const peersVia: Record<string, Address> = {};
      for (const other of ids)
        if (other !== id) peersVia[other] = { host: '127.0.0.1', port: await freeLoopbackPort() };
      t.nodes.set(id, {
        id,
        peer: { host: '127.0.0.1', port: await freeLoopbackPort() },
        client: { host: '127.0.0.1', port: await freeLoopbackPort() },
        grpc: { host: '127.0.0.1', port: await freeLoopbackPort() },
        peersVia,
        httpSocket: undefined,
      });
    }
    return t;
  }

  /** node returns a node's addresses. */
  node(id: string): NodeAddresses {
    const n = this.nodes.get(id);
    if (n === undefined) throw new RangeError(`no node ${id}`);
    return n;
  }

  /** execPrefix is the argv prefix that runs a command on `host` (a node id or CLIENT_HOST). */
  execPrefix(host: string): string[] {
    return this.network === undefined ? [] : this.network.exec(host);
  }

  /** startProxies starts one link-proxy process per node and waits until all listen. */
  async startProxies(seed: number): Promise<void> {
    await Promise.all(
      [...this.nodes.values()].map(async (n, index) => {
        const links = Object.entries(n.peersVia).map(([other, listen]) => ({
          name: other,
          listen,
          target: this.node(other).peer,
        }));
        const unix =
          n.httpSocket === undefined ? [] : [{ name: 'http', path: n.httpSocket, target: n.client }];
        const config = join(this.runDir, `proxy-${n.id}.json`);
        writeFileSync(config, JSON.stringify({ seed: seed + index * 1000, links, unix }));
        const p = new ManagedProcess(
          {
            name: `proxy-${n.id}`,
            argv: [
              ...this.execPrefix(n.id),
              ...swcArgs(join(REPO_ROOT, 'chaos/src/harness/proxy-main.ts')),
              config,
            ],
            env: SWC_ENV,
            logFile: join(this.runDir, 'logs', `proxy-${n.id}.log`),
            pipeStdout: true,
            pipeStdin: true,
          },
          this.cleanup,
        );
        p.start();
        await p.waitForLine((l) => l.startsWith('{"ready":true'), 30_000);
        this.proxies.set(n.id, p);
      }),
    );
  }

  /** killProxies kills every link proxy (SIGKILL, side by side), by PID, and waits for the exits. */
  async killProxies(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.kill()));
  }

  /** setLink sends a fault setting to the proxy of the link from → to. */
  setLink(from: string, to: string, faults: Partial<LinkFaults>): void {
    this.proxyOf(from).send(`${JSON.stringify({ link: to, set: faults })}\n`);
  }

  /** resetLink resets every connection of the link from → to. */
  resetLink(from: string, to: string): void {
    this.proxyOf(from).send(`${JSON.stringify({ link: to, reset: true })}\n`);
  }

  private proxyOf(id: string): ManagedProcess {
    const p = this.proxies.get(id);
    if (p === undefined) throw new RangeError(`no proxy for ${id}`);
    return p;
  }

  /** haveFile says whether a path exists (for optional entries such as the broken builds). */
  static haveFile(path: string): boolean {
    return existsSync(path);
  }
}
