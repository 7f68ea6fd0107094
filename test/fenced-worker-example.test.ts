import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@omnirelay/server';
import type { SingleNode } from '../packages/server/test/support/single-node';
import { startSingleNode } from '../packages/server/test/support/single-node';

const ROOT = join(__dirname, '..');

/** run starts an example the way the README says (through npm's script environment), by PID. */
function run(script: string, args: string[], out: string[]): ChildProcess {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', join(ROOT, 'examples/fenced-worker', script), ...args],
    {
      cwd: ROOT,
      env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.check.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout.on('data', (c: Buffer) =>
    out.push(
      ...c
        .toString()
        .split('\n')
        .filter((l) => l !== ''),
    ),
  );
  child.stderr.on('data', (c: Buffer) =>
    out.push(
      ...c
        .toString()
        .split('\n')
        .filter((l) => l !== ''),
    ),
  );
  return child;
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe('examples/fenced-worker', () => {
  jest.setTimeout(90_000);
  let node: SingleNode;
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-example-'));
  beforeAll(async () => {
    node = await startSingleNode();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two workers: one leads and writes; after it is killed the other takes over with a higher fence', async () => {
    const port = await freePort();
    const storeOut: string[] = [];
    children.push(run('store.ts', ['--dir', dir, '--port', String(port)], storeOut));
    await waitFor('the store to listen', () => storeOut.some((l) => l.includes('fenced store on')));
    const common = [
      '--endpoints',
      node.server.grpcAddress,
      '--store',
      `http://127.0.0.1:${port}`,
      '--ttl-ms',
      '1000',
    ];
    const w1Out: string[] = [];
    const w1 = run('worker.ts', ['--id', 'w1', ...common], w1Out);
    children.push(w1);
    await waitFor('w1 to lead', () => w1Out.some((l) => l.includes('leading shard/orders/7')));
    const w2Out: string[] = [];
    children.push(run('worker.ts', ['--id', 'w2', ...common], w2Out));
    await waitFor('w2 to see w1 lead', () =>
      w2Out.some((l) => l.includes('leader of shard/orders/7 is now w1')),
    );
    const log = join(dir, 'shard_orders_7.log');
    await waitFor('w1 to write', () => existsSync(log) && readFileSync(log, 'utf8').includes('by w1'));

    w1.kill('SIGKILL');
    await waitFor('w2 to lead', () => w2Out.some((l) => l.includes('leading shard/orders/7')));
    await waitFor('w2 to write', () => readFileSync(log, 'utf8').includes('by w2'));
    const fences = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => BigInt(l.split(' ')[0]!));
    for (let i = 1; i < fences.length; i++) expect(fences[i]! >= fences[i - 1]!).toBe(true);
    expect(fences[fences.length - 1]!).toBeGreaterThan(fences[0]!);
    const persisted = JSON.parse(readFileSync(join(dir, 'fences.json'), 'utf8')) as Record<string, string>;
    expect(BigInt(persisted['shard/orders/7']!)).toBe(fences[fences.length - 1]);

    // A write carrying w1's old fence is refused by the store's FenceGuard.
    const stale = await fetch(`http://127.0.0.1:${port}/append`, {
      method: 'POST',
      body: JSON.stringify({
        scope: 'shard/orders/7',
        fence: fences[0]!.toString(),
        line: 'late write by w1',
      }),
    });
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { error: { code: string } }).error.code).toBe('STALE_FENCE');
    const bad = await fetch(`http://127.0.0.1:${port}/append`, { method: 'POST', body: '{"scope":"x"}' });
    expect(bad.status).toBe(400);
  });
});
