import type { Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import type { Solo } from './grpc-test-helpers';
import {
  StreamReader,
  leaseOf,
  openCampaign,
  ownConnection,
  sleep,
  startSolo,
  unary,
} from './grpc-test-helpers';

/**
 * BlackHoleProxy forwards TCP connections to `target` until `blackHole()`, after which it stops
 * forwarding in both directions without closing anything: to both ends the connection looks
 * alive and silent, as when a client host loses power or its route disappears (no FIN, no RST).
 */
class BlackHoleProxy {
  private readonly sockets: Socket[] = [];
  private readonly server: Server;
  private port = 0;

  private constructor(targetPort: number) {
    this.server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      this.sockets.push(client, upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      // A socket error only comes once the proxy is stopped.
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
  }

  /** start listens on a free loopback port and forwards to `target` (`host:port`). */
  static async start(target: string): Promise<BlackHoleProxy> {
    const proxy = new BlackHoleProxy(Number(target.slice(target.lastIndexOf(':') + 1)));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const bound = proxy.server.address();
    if (typeof bound !== 'object' || bound === null) throw new Error('the proxy has no address');
    proxy.port = bound.port;
    return proxy;
  }

  /** address is where clients connect. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** connections is how many sockets (both sides) the proxy holds. */
  get connections(): number {
    return this.sockets.length;
  }

  /** blackHole stops forwarding on every connection; nothing is closed. */
  blackHole(): void {
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** stop destroys every connection and closes the listener. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('server-side gRPC keepalive', () => {
  jest.setTimeout(60_000);
  const KEEPALIVE_TIME_MS = 500;
  const KEEPALIVE_TIMEOUT_MS = 500;
  let solo: Solo;

  beforeAll(async () => {
    solo = await startSolo([
      '--grpc-keepalive-time-ms',
      String(KEEPALIVE_TIME_MS),
      '--grpc-keepalive-timeout-ms',
      String(KEEPALIVE_TIMEOUT_MS),
    ]);
  });

  afterAll(async () => {
    await solo.stop();
  });

  it('drops the waiter of a client whose connection died silently, so the scope never goes to the ghost', async () => {
    const scope = 'keepalive/ghost';
    const holder = leaseOf(
      await unary(solo.leadership, 'Acquire', { scope, candidateId: 'holder', leaseTtlMs: 30_000 }),
      'lease',
    );
    const proxy = await BlackHoleProxy.start(solo.server.grpcAddress);
    // Its own connection (not the pooled one of solo.leadership), through the proxy; no client
    // keepalive, as by default, and no deadline: nothing but the server can end this call.
    const ghost = ownConnection(proxy.address);
    try {
      const campaign = openCampaign(ghost, { scope, candidateId: 'ghost', leaseTtlMs: 30_000 });
      const reader = new StreamReader(campaign);
      expect((await reader.next())['state']).toBe('queued');
      expect(solo.server.stateMachine.fsm.getScope(scope)?.waiting).toHaveLength(1);
      expect(proxy.connections).toBe(2);

      proxy.blackHole();
      // The server pings within KEEPALIVE_TIME_MS and gives up KEEPALIVE_TIMEOUT_MS later; the
      // wait is bounded well past that.
      const deadline = Date.now() + KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS + 5_000;
      while (
        (solo.server.stateMachine.fsm.getScope(scope)?.waiting.length ?? 0) > 0 &&
        Date.now() < deadline
      ) {
        await sleep(50);
      }
      expect(solo.server.stateMachine.fsm.getScope(scope)?.waiting ?? []).toHaveLength(0);

      const resigned = await unary(solo.leadership, 'Resign', { scope, fenceToken: holder['fenceToken'] });
      expect(resigned['successor']).toBeNull();
      const leader = await unary(solo.leadership, 'GetLeader', { scope });
      expect(leader['leader']).toBeNull();
      campaign.cancel();
    } finally {
      ghost.close();
      await proxy.stop();
    }
  });

  it('keeps a live, quiet client connection and its waiter past many keepalive rounds', async () => {
    const scope = 'keepalive/alive';
    const holder = leaseOf(
      await unary(solo.leadership, 'Acquire', { scope, candidateId: 'holder', leaseTtlMs: 30_000 }),
      'lease',
    );
    const client = ownConnection(solo.server.grpcAddress);
    try {
      const reader = new StreamReader(
        openCampaign(client, { scope, candidateId: 'waiter', leaseTtlMs: 30_000 }),
      );
      expect((await reader.next())['state']).toBe('queued');
      // Several ping rounds with no call traffic at all: the client answers every ping.
      await sleep(3 * (KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS));
      expect(solo.server.stateMachine.fsm.getScope(scope)?.waiting).toHaveLength(1);
      const resigned = await unary(solo.leadership, 'Resign', { scope, fenceToken: holder['fenceToken'] });
      expect(leaseOf(resigned, 'successor')['candidateId']).toBe('waiter');
      expect((await reader.next())['state']).toBe('elected');
      expect((await reader.end()).error).toBeNull();
    } finally {
      client.close();
    }
  });
});
