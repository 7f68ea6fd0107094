import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, SERVER_NODE_ENV, freePort } from '../../src/index';

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

  it('never returns a port that fetch refuses to connect to (10080), which a CI run drew', async () => {
    // Why: fetch fails there before connecting, whatever listens.
    const refused = await fetch('http://127.0.0.1:10080/metrics').then(
      () => undefined,
      (e: unknown) => String((e as { cause?: unknown }).cause),
    );
    expect(refused).toMatch(/bad port/);
    let hi = 65_535;
    try {
      const ephemeralLo = Number(
        readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
      );
      if (ephemeralLo > 12_000) hi = ephemeralLo - 1;
    } catch {
      // not Linux: the whole unprivileged range
    }
    // The first draw lands on 10080; freePort must draw again.
    const random = jest.spyOn(Math, 'random').mockReturnValueOnce(80.5 / (hi - 10_000 + 1));
    try {
      const port = await freePort();
      expect(port).not.toBe(10_080);
      expect(random.mock.calls.length).toBeGreaterThanOrEqual(2);
    } finally {
      random.mockRestore();
    }
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

/** environOf is the environment process `pid` started with, as glibc saw it (Linux /proc). */
function environOf(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .filter((e) => e !== '');
  return new Map(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

(existsSync('/proc/self/environ') ? describe : describe.skip)("a LocalCluster node's environment", () => {
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-lc-env-'));
  const inherited = process.env['MALLOC_ARENA_MAX'];
  let nodeEnv: Readonly<Record<string, string>> = {};
  let cluster: LocalCluster | undefined;

  afterAll(async () => {
    await cluster?.stopAll();
    if (inherited === undefined) delete process.env['MALLOC_ARENA_MAX'];
    else process.env['MALLOC_ARENA_MAX'] = inherited;
    rmSync(root, { recursive: true, force: true });
  });

  /** startedWith starts node n1, reads the MALLOC_ARENA_MAX it started with, and kills it by PID. */
  async function startedWith(): Promise<string | undefined> {
    cluster!.start('n1');
    // spawn returns once the child has exec'd the node binary, so /proc shows its own environment.
    const pid = cluster!.node('n1').process?.pid;
    expect(pid).toBeDefined();
    const value = environOf(pid!).get('MALLOC_ARENA_MAX');
    await cluster!.kill('n1');
    return value;
  }

  it('has SERVER_NODE_ENV (MALLOC_ARENA_MAX=2), unless this process or nodeEnv sets the variable, nodeEnv winning', async () => {
    expect(SERVER_NODE_ENV).toEqual({ MALLOC_ARENA_MAX: '2' });
    cluster = await LocalCluster.create({ size: 1, dataRoot: root, basePort: 0, nodeEnv: () => nodeEnv });
    delete process.env['MALLOC_ARENA_MAX'];
    expect(await startedWith()).toBe('2');
    // An operator's explicit value (here a different arena count) replaces the default.
    process.env['MALLOC_ARENA_MAX'] = '4';
    expect(await startedWith()).toBe('4');
    // A test's own nodeEnv replaces both.
    nodeEnv = { MALLOC_ARENA_MAX: '1' };
    expect(await startedWith()).toBe('1');
  });
});
