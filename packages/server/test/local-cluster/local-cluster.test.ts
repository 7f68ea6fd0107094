import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, freePort } from '../../src/index';

jest.setTimeout(30_000);

describe('freePort', () => {
  it('returns distinct ports, each bindable, below the ephemeral range on Linux', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 50; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    let ephemeralLo = 65_536;
    try {
      ephemeralLo = Number(
        readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
      );
    } catch {
      // not Linux: only distinctness and bindability are promised
    }
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(ephemeralLo);
    }
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(ports[0], '127.0.0.1', r));
    await new Promise<void>((r) => srv.close(() => r()));
  });
});

describe('LocalCluster.waitForLeader', () => {
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-lc-'));
  let blocker: Server | undefined;
  let cluster: LocalCluster | undefined;

  afterAll(async () => {
    await cluster?.stopAll();
    await new Promise<void>((r) => (blocker === undefined ? r() : blocker.close(() => r())));
    rmSync(root, { recursive: true, force: true });
  });

  it('fails at once, with the exit status and the last log line, when every node has exited', async () => {
    cluster = await LocalCluster.create({ size: 1, dataRoot: root, basePort: 0 });
    const clientPort = Number(cluster.node('n1').clientAddress.split(':')[1]);
    blocker = createServer((socket) => socket.destroy()); // holds the port, answers nothing
    await new Promise<void>((r) => blocker!.listen(clientPort, '127.0.0.1', r));
    cluster.startAll();
    const started = Date.now();
    const error = await cluster.waitForLeader(25_000).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      /^no leader: every node has exited: n1 exited \(code 2\), last logged: .*EADDRINUSE/,
    );
    // It did not sit out the timeout: the node's start (a few seconds under load) is all it waited.
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
