import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { Prng } from './prng';

/** LINK_DELAY_MS_MAX bounds a proxy's latency plus jitter. */
export const LINK_DELAY_MS_MAX = 10_000;

/**
 * LinkFaults are what a proxy does to its link:
 * - `latencyMs` + a uniform random `jitterMs` delay each chunk (order within one connection is
 *   kept, as TCP keeps it; chunks on different connections and links reorder);
 * - `upstream` / `downstream` `blackhole`: bytes that way are silently dropped (a stall, as a lost
 *   route looks), and those connections are reset when the blackhole ends, as TCP would time out;
 * - `refuse`: new connections are reset at once.
 */
export interface LinkFaults {
  readonly latencyMs: number;
  readonly jitterMs: number;
  readonly upstream: 'pass' | 'blackhole';
  readonly downstream: 'pass' | 'blackhole';
  readonly refuse: boolean;
}

/** NO_FAULTS is a clean link. */
export const NO_FAULTS: LinkFaults = {
  latencyMs: 0,
  jitterMs: 0,
  upstream: 'pass',
  downstream: 'pass',
  refuse: false,
};

/** reset closes a socket with a TCP reset (as a broken link does); a unix socket is just destroyed. */
function reset(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

interface Pair {
  readonly client: Socket;
  readonly server: Socket;
  /** lost is set when a blackhole dropped bytes of this connection: it is reset on heal. */
  lost: boolean;
}

/**
 * LinkProxy is a userspace TCP proxy for one directed link (node i → node j's peer port): it
 * listens on `host:0` and forwards to `target`, applying LinkFaults with a seeded PRNG.
 */
export class LinkProxy {
  private faults: LinkFaults = NO_FAULTS;
  private readonly pairs = new Set<Pair>();
  private readonly prng: Prng;
  private server: Server | undefined;
  private boundPort = 0;

  constructor(
    readonly name: string,
    private readonly target: { readonly host: string; readonly port: number },
    seed: number,
  ) {
    this.prng = new Prng(seed);
  }

  /** port is the listening port (after start). */
  get port(): number {
    return this.boundPort;
  }

  /** start listens on `host` (port 0 unless given) and resolves with the port. */
  start(host = '127.0.0.1', port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((client) => this.accept(client));
      server.once('error', reject);
      server.listen({ host, port }, () => {
        const address = server.address();
        this.boundPort = typeof address === 'object' && address !== null ? address.port : 0;
        this.server = server;
        resolve(this.boundPort);
      });
    });
  }

  /** startOnPath listens on a unix socket (a way into a namespace from outside it). */
  startOnPath(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((client) => this.accept(client));
      server.once('error', reject);
      server.listen({ path }, () => {
        this.server = server;
        resolve();
      });
    });
  }

  /** set replaces the link's faults; ending a blackhole resets the connections it cut. */
  set(faults: Partial<LinkFaults>): void {
    const next = { ...this.faults, ...faults };
    if (next.latencyMs < 0 || next.jitterMs < 0 || next.latencyMs + next.jitterMs > LINK_DELAY_MS_MAX) {
      throw new RangeError(
        `latency + jitter must be in 0..${LINK_DELAY_MS_MAX} ms, got ${next.latencyMs} + ${next.jitterMs}`,
      );
    }
    const healing =
      (this.faults.upstream === 'blackhole' && next.upstream === 'pass') ||
      (this.faults.downstream === 'blackhole' && next.downstream === 'pass');
    this.faults = next;
    if (healing) for (const p of [...this.pairs]) if (p.lost) this.close(p);
  }

  /** current returns the faults in force. */
  current(): LinkFaults {
    return this.faults;
  }

  /** resetConnections resets every open connection (a drop-connection fault). */
  resetConnections(): void {
    for (const p of [...this.pairs]) this.close(p);
  }

  /** connections counts the open connections. */
  get connections(): number {
    return this.pairs.size;
  }

  /** stop closes the listener and every connection (idempotent). */
  async stop(): Promise<void> {
    this.resetConnections();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.faults.refuse) {
      reset(client);
      return;
    }
    const server = createConnection({ host: this.target.host, port: this.target.port });
    server.on('error', () => undefined);
    const pair: Pair = { client, server, lost: false };
    this.pairs.add(pair);
    client.setNoDelay(true);
    server.setNoDelay(true);
    this.pipe(pair, client, server, 'upstream');
    this.pipe(pair, server, client, 'downstream');
    const end = (): void => this.close(pair);
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
  }

  private pipe(pair: Pair, from: Socket, to: Socket, way: 'upstream' | 'downstream'): void {
    let lastDueMs = 0;
    from.on('data', (chunk: Buffer) => {
      if (this.faults[way] === 'blackhole') {
        pair.lost = true;
        return;
      }
      const { latencyMs, jitterMs } = this.faults;
      if (latencyMs === 0 && jitterMs === 0 && lastDueMs <= Date.now()) {
        to.write(chunk);
        return;
      }
      // Keep order within the connection: a chunk never overtakes the one before it.
      const dueMs = Math.max(
        lastDueMs,
        Date.now() + latencyMs + (jitterMs > 0 ? this.prng.next() * jitterMs : 0),
      );
      lastDueMs = dueMs;
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, dueMs - Date.now());
    });
  }

  private close(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    reset(pair.client);
    reset(pair.server);
  }
}
