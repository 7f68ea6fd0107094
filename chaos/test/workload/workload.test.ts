import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRunFolder } from '../../src/read-run';
import { checkRun } from '../../src/run-checks';
import type { Started } from '../helpers/processes';
import { exited, startScript, waitFor, waitForLine } from '../helpers/processes';
import { collectAudit, runWorkload, useChaosCluster } from '../helpers/workload-run';

const TTL_MS = 1500;

/** verdicts lists each checker's verdict, with its first violations when it has any (for failure messages). */
function verdicts(dir: string): Record<string, string> {
  const verdict = checkRun(readRunFolder(dir));
  return Object.fromEntries(
    verdict.checkers.map((c) => [
      c.checker,
      c.violations.length === 0 ? c.verdict : `${c.verdict}: ${c.violations.slice(0, 3).join(' | ')}`,
    ]),
  );
}

describe('the chaos workload on a real 3-node loopback cluster', () => {
  const { cluster, root, started } = useChaosCluster('chaos-workload');

  it('three workers on two scopes for 10 s: every checker says valid', async () => {
    await cluster().waitForLeader();
    const endpoints = cluster().nodes.map((n) => n.grpcAddress);
    const dir = mkdtempSync(join(root, 'valid-'));
    await runWorkload(
      {
        endpoints,
        dir,
        scopes: ['valid/a', 'valid/b'],
        workers: [
          { id: 'w1', seed: 1 },
          { id: 'w2', seed: 2 },
          { id: 'w3', seed: 3 },
        ],
        durationMs: 10_000,
        ttlMs: TTL_MS,
      },
      started,
    );
    expect(await collectAudit(endpoints, dir, 'valid/')).toBeGreaterThan(0);
    const log = readFileSync(join(dir, 'store-1.jsonl'), 'utf8');
    expect(log).toContain('"accepted"');
    expect(verdicts(dir)).toEqual({
      'fenced-store': 'valid',
      grants: 'valid',
      linearizability: 'valid',
      'server-holders': 'valid',
      slo: 'valid',
    });
  });

  it('a holder stopped past its TTL writes when resumed: the fenced store rejects it (valid), a store that skips the fence accepts it (invalid)', async () => {
    const endpoints = cluster().nodes.map((n) => n.grpcAddress);
    const results: Record<string, string>[] = [];
    for (const [name, storeArgs] of [
      ['fenced', []],
      ['skip-fence', ['--broken', 'skip-fence']],
    ] as const) {
      const dir = mkdtempSync(join(root, `${name}-`));
      await runWorkload(
        {
          endpoints,
          dir,
          scopes: [`${name}/a`],
          // w1 starts first, takes the scope and stops itself before its first write; w2 waits in
          // the queue, takes over once w1's lease expires and writes with a higher fence; then w1
          // is resumed and writes with its old one.
          workers: [
            { id: 'w1', seed: 11, mode: 'campaign', stopBeforeWriteAtMs: 0 },
            { id: 'w2', seed: 12, mode: 'campaign' },
          ],
          durationMs: 9000,
          ttlMs: TTL_MS,
          storeArgs,
          pauseMs: 3 * TTL_MS,
        },
        started,
      );
      await collectAudit(endpoints, dir, `${name}/`);
      results.push(verdicts(dir));
    }
    expect(results[0]!['fenced-store']).toBe('valid');
    expect(results[0]!['linearizability']).toBe('valid');
    expect(results[1]!['fenced-store']).toMatch(
      /^invalid: .*accepted fences went down, a stale writer got through/,
    );
  });

  it('a worker stopped by SIGTERM exits 0 with its calls closed; one killed with SIGKILL leaves a history the checkers read', async () => {
    const endpoints = cluster().nodes.map((n) => n.grpcAddress);
    const dir = mkdtempSync(join(root, 'signals-'));
    const worker = (id: string): Started => {
      const w = startScript('chaos/src/workload/worker.ts', [
        ...['--id', id, '--endpoints', endpoints.join(','), '--scopes', 'signals/a', '--mode', 'acquire'],
        ...['--store', 'http://127.0.0.1:9', '--out', dir, '--seed', '5', '--duration-ms', '60000'],
        ...['--ttl-ms', String(TTL_MS)],
      ]);
      started.push(w);
      return w;
    };
    const history = (id: string): string[] => {
      const file = join(dir, `client-${id}.jsonl`);
      return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
    };
    const term = worker('t1');
    await waitForLine(term, 'ready', 30_000);
    await waitFor('t1 to record some calls', () => history('t1').length >= 6);
    process.kill(term.child.pid!, 'SIGTERM');
    expect(await exited(term)).toBe(0);
    // Every call it started was completed before it exited (no store answers here: writes are info).
    const open = new Map<string, number>();
    for (const line of history('t1')) {
      const r = JSON.parse(line) as { process: string; type: string };
      open.set(r.process, (open.get(r.process) ?? 0) + (r.type === 'invoke' ? 1 : -1));
    }
    expect([...open.values()].every((n) => n === 0)).toBe(true);

    const killed = worker('k1');
    await waitForLine(killed, 'ready', 30_000);
    await waitFor('k1 to record some calls', () => history('k1').length >= 6);
    process.kill(killed.child.pid!, 'SIGKILL');
    await exited(killed);
    const verdict = checkRun(readRunFolder(dir));
    expect(verdict.counts.operations).toBeGreaterThanOrEqual(6);
    expect(verdict.checkers.find((c) => c.checker === 'linearizability')!.verdict).toBe('valid');
  });
});
