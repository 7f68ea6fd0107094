import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRunFolder } from '../../src/read-run';
import { checkRun } from '../../src/run-checks';
import type { Started } from '../helpers/processes';
import { exited, startScript, stopAll, waitForLine } from '../helpers/processes';

describe('chaos/src/workload/store.ts (a real process)', () => {
  jest.setTimeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-chaos-store-'));
  const started: Started[] = [];
  afterAll(() => {
    stopAll(started);
    rmSync(dir, { recursive: true, force: true });
  });

  async function post(
    port: number,
    body: string,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${port}/write`, { method: 'POST', body });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('accepts, rejects stale fences, logs every decision in order, and the checkers say valid on its log', async () => {
    const store = startScript('chaos/src/workload/store.ts', ['--out', join(dir, 'store-1.jsonl')]);
    started.push(store);
    const { listening } = await waitForLine(store, 'listening');
    const port = listening as number;
    const write = (fence: string, writer: string): string =>
      JSON.stringify({ scope: 'orders', fence, writer });

    expect((await post(port, write('3', 'w1'))).status).toBe(200);
    expect((await post(port, write('3', 'w1'))).status).toBe(200);
    expect((await post(port, write('9', 'w2'))).status).toBe(200);
    const stale = await post(port, write('3', 'w1'));
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ error: { code: 'STALE_FENCE', currentFenceToken: '9' } });
    // Scopes are independent.
    expect((await post(port, JSON.stringify({ scope: 'billing', fence: '2', writer: 'w1' }))).status).toBe(
      200,
    );

    process.kill(store.child.pid!, 'SIGTERM');
    expect(await exited(store)).toBe(0);
    const log = readFileSync(join(dir, 'store-1.jsonl'), 'utf8').trim().split('\n');
    expect(
      log
        .map((l) => JSON.parse(l) as Record<string, string>)
        .map((r) => [r.scope, r.fence, r.writer, r.outcome]),
    ).toEqual([
      ['orders', '3', 'w1', 'accepted'],
      ['orders', '3', 'w1', 'accepted'],
      ['orders', '9', 'w2', 'accepted'],
      ['orders', '3', 'w1', 'rejected'],
      ['billing', '2', 'w1', 'accepted'],
    ]);

    // The grants behind those fences, as the workers would have recorded them.
    const grant = (process: string, scope: string, fence: string, t: number): string =>
      [
        {
          process,
          type: 'invoke',
          f: 'acquire',
          scope,
          value: { candidate: process, session: `s-${process}` },
          time: String(t),
        },
        { process, type: 'ok', f: 'acquire', scope, value: { granted: true, fence }, time: String(t + 1) },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n');
    writeFileSync(
      join(dir, 'client-w1.jsonl'),
      `${grant('w1', 'orders', '3', 1)}\n${grant('w1', 'billing', '2', 5)}\n`,
    );
    writeFileSync(join(dir, 'client-w2.jsonl'), `${grant('w2', 'orders', '9', 3)}\n`);
    const verdict = checkRun(readRunFolder(dir));
    expect(verdict.checkers.find((c) => c.checker === 'fenced-store')).toEqual({
      checker: 'fenced-store',
      verdict: 'valid',
      violations: [],
    });
  });

  it('answers bad requests with 4xx and a JSON error, and logs nothing for them', async () => {
    const out = join(dir, 'store-bad.jsonl');
    const store = startScript('chaos/src/workload/store.ts', ['--out', out]);
    started.push(store);
    const port = (await waitForLine(store, 'listening')).listening as number;
    for (const body of [
      'not json',
      '[1]',
      JSON.stringify({ fence: '1', writer: 'w1' }),
      JSON.stringify({ scope: 'a', fence: '1' }),
      JSON.stringify({ scope: 'a', fence: 1, writer: 'w1' }),
      JSON.stringify({ scope: 'a', fence: '0', writer: 'w1' }),
      JSON.stringify({ scope: 'a', fence: '18446744073709551616', writer: 'w1' }),
    ]) {
      const res = await post(port, body);
      expect([body, res.status, (res.json.error as { code: string }).code]).toEqual([
        body,
        400,
        'INVALID_ARGUMENT',
      ]);
    }
    const big = await post(port, JSON.stringify({ scope: 'a'.repeat(5000), fence: '1', writer: 'w1' }));
    expect(big.status).toBe(413);
    const get = await fetch(`http://127.0.0.1:${port}/write`);
    expect(get.status).toBe(405);
    const other = await fetch(`http://127.0.0.1:${port}/other`, { method: 'POST', body: '{}' });
    expect(other.status).toBe(404);
    process.kill(store.child.pid!, 'SIGTERM');
    expect(await exited(store)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('');
  });

  it('with --broken skip-fence accepts a stale fence, and the fenced-store checker flags it', async () => {
    const run = mkdtempSync(join(dir, 'broken-'));
    const store = startScript('chaos/src/workload/store.ts', [
      '--out',
      join(run, 'store-1.jsonl'),
      '--broken',
      'skip-fence',
    ]);
    started.push(store);
    const port = (await waitForLine(store, 'listening')).listening as number;
    expect((await post(port, JSON.stringify({ scope: 'a', fence: '9', writer: 'w2' }))).status).toBe(200);
    expect((await post(port, JSON.stringify({ scope: 'a', fence: '3', writer: 'w1' }))).status).toBe(200);
    process.kill(store.child.pid!, 'SIGTERM');
    expect(await exited(store)).toBe(0);
    const result = checkRun(readRunFolder(run)).checkers.find((c) => c.checker === 'fenced-store')!;
    expect(result.verdict).toBe('invalid');
    expect(result.violations.filter((v) => v.includes('accepted fences went down'))).toHaveLength(1);
  });

  it('refuses bad arguments with exit status 2 and a message naming them', async () => {
    for (const [args, message] of [
      [[], '--out is required'],
      [['--out', join(dir, 'x.jsonl'), '--port', '70000'], '--port must be 0 to 65535'],
      [['--out', join(dir, 'x.jsonl'), '--broken', 'everything'], '--broken must be skip-fence'],
      [['--out', join(dir, 'x.jsonl'), '--nope'], "Unknown option '--nope'"],
    ] as const) {
      const store = startScript('chaos/src/workload/store.ts', args);
      started.push(store);
      expect(await exited(store)).toBe(2);
      expect(store.stderr.join('')).toContain(message);
    }
  });
});
