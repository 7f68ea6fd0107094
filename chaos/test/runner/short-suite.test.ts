import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listNamespaces, netnsAvailable } from '../../src/harness/network';
import { runChaosCommand } from '../../src/runner/run-command';
import { tryRun } from '../../src/harness/shell';

/** SEED is the short suite's seed: CHAOS_SEED replays another one. */
const SEED = Number(process.env['CHAOS_SEED'] ?? 42);
/** SUITE_TIMEOUT_MS bounds the short suite (about 3 minutes here; the issue allows CI 10): a safety net, not a speed check. */
const SUITE_TIMEOUT_MS = 480_000;

const title = netnsAvailable()
  ? 'the short suite in network namespaces'
  : 'the short suite on loopback (no network namespaces here: needs root and iproute2)';

describe(title, () => {
  let out: string;

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'chaos-short-'));
  });

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it(
    'runs leader kill, leader partition, holder pause, clock skew and a membership change with real processes, and every checker finds the runs valid',
    async () => {
      const lines: string[] = [];
      const code = await runChaosCommand(
        ['--suite', 'short', '--seed', String(SEED), '--out', out],
        (line) => {
          lines.push(line);
          process.stdout.write(`${line}\n`);
        },
      );
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Array<{
        scenario: string;
        passed: boolean;
        verdict: string;
      }>;
      expect({
        code,
        failures: lines.filter((l) => l.startsWith('FAILED') || l.startsWith('  error')),
      }).toEqual({
        code: 0,
        failures: [],
      });
      expect(summary.map((s) => [s.scenario, s.verdict])).toEqual([
        ['leader-kill', 'valid'],
        ['leader-partition', 'valid'],
        ['holder-pause', 'valid'],
        ['clock-skew', 'valid'],
        ['membership-change', 'valid'],
      ]);
      expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toContain('tests="5" failures="0"');
      // Nothing is left behind: namespaces, nft tables (they live in the namespaces), mounts.
      expect(listNamespaces().filter((n) => n.startsWith(`orc-${process.pid}-`))).toEqual([]);
      expect((tryRun('cat', ['/proc/mounts']) ?? '').includes(out)).toBe(false);
    },
    SUITE_TIMEOUT_MS,
  );
});
