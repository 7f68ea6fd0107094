import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server, Socket } from 'node:net';
import { LinkProxy } from '../../src/harness/proxy';

/** echoServer answers every chunk with itself, on 127.0.0.1:0. */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.on('data', (c) => s.write(c)).on('error', () => undefined));
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** roundTrip sends one byte and resolves with the milliseconds until it is echoed, or 'timeout'. */
function roundTrip(s: Socket, timeoutMs: number): Promise<number | 'timeout' | 'closed'> {
  return new Promise((resolve) => {
    const start = performance.now();
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    s.once('data', () => {
      clearTimeout(timer);
      resolve(performance.now() - start);
    });
    s.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    s.write('x');
  });
}

describe('LinkProxy', () => {
  let echo: { server: Server; port: number };
  let proxy: LinkProxy;

  beforeEach(async () => {
    echo = await echoServer();
    proxy = new LinkProxy('n1->n2', { host: '127.0.0.1', port: echo.port }, 7);
    await proxy.start();
  });

  afterEach(async () => {
    await proxy.stop();
    await new Promise<void>((r) => echo.server.close(() => r()));
  });

  it('delays each direction by the latency, so a round trip takes at least twice it', async () => {
    proxy.set({ latencyMs: 100, jitterMs: 20 });
    const s = await connect(proxy.port);
    s.on('error', () => undefined);
    const rtt = await roundTrip(s, 5000);
    expect(typeof rtt === 'number' && rtt >= 195).toBe(true);
    s.destroy();
  });

  it('stalls a blackholed link and resets its connections when it heals', async () => {
    const s = await connect(proxy.port);
    s.on('error', () => undefined);
    expect(typeof (await roundTrip(s, 2000))).toBe('number');
    proxy.set({ upstream: 'blackhole' });
    expect(await roundTrip(s, 300)).toBe('timeout');
    const closed = new Promise((r) => s.once('close', r));
    proxy.set({ upstream: 'pass' });
    await closed;
    const fresh = await connect(proxy.port);
    fresh.on('error', () => undefined);
    expect(typeof (await roundTrip(fresh, 2000))).toBe('number');
    fresh.destroy();
  });

  it('resets new connections while it refuses, and existing ones on drop-connection', async () => {
    const s = await connect(proxy.port);
    s.on('error', () => undefined);
    const closed = new Promise((r) => s.once('close', r));
    proxy.resetConnections();
    await closed;
    proxy.set({ refuse: true });
    const refused = await connect(proxy.port).then(
      (t) => new Promise<string>((r) => t.on('error', () => undefined).once('close', () => r('closed'))),
      () => 'error',
    );
    expect(['closed', 'error']).toContain(refused);
    expect(proxy.connections).toBe(0);
  });

  it('forwards a unix socket to a TCP port and survives resetting its connections', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaos-proxy-'));
    const unix = new LinkProxy('http', { host: '127.0.0.1', port: echo.port }, 9);
    try {
      await unix.startOnPath(join(dir, 'p.sock'));
      const s = await new Promise<Socket>((resolve, reject) => {
        const c = createConnection({ path: join(dir, 'p.sock') }, () => resolve(c));
        c.once('error', reject);
      });
      s.on('error', () => undefined);
      expect(typeof (await roundTrip(s, 2000))).toBe('number');
      const closed = new Promise((r) => s.once('close', r));
      // A unix socket cannot be reset like TCP: it must be closed, not crash the proxy.
      unix.resetConnections();
      await closed;
      expect(unix.connections).toBe(0);
    } finally {
      await unix.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a latency beyond the bound', () => {
    expect(() => proxy.set({ latencyMs: 20_000 })).toThrow(/latency \+ jitter must be in 0\.\.10000 ms/);
  });
});
