import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useLocalCluster } from '../../../packages/server/test/cluster/cluster-helpers';
import { readRunFolder } from '../../src/read-run';
import { checkRun } from '../../src/run-checks';
import type { Started } from '../helpers/processes';
import { stopAll } from '../helpers/processes';
import { collectAudit, runWorkload } from '../helpers/workload-run';

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
  const cluster = useLocalCluster('chaos-workload', {
    size: 3,
    extraArgs: ['--election-timeout-ms', '2000'],
  });
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-chaos-workload-'));
  const started: Started[] = [];
  jest.setTimeout(60_000);
  afterAll(() => {
    stopAll(started);
    rmSync(root, { recursive: true, force: true });
  });

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
});
