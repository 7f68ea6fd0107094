import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { RunVerdict } from '../../src/run-checks';
import type { RunReport } from '../../src/runner/report';
import { DEFAULT_SCENARIOS_FILE, RUN_EXIT, runChaosCommand } from '../../src/runner/run-command';

/** SCENARIO runs chaos/src/broken/server-never-expiring.ts: a holder is killed, its scope is never granted again. */
const SCENARIO = 'broken-expiry';
const SEED = 17;
/** RUN_TIMEOUT_MS bounds the run (about 40 s on two shared cores): a safety net, not a speed check. */
const RUN_TIMEOUT_MS = 150_000;

describe('chaos/src/broken/server-never-expiring.ts in the broken-expiry scenario', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'chaos-broken-expiry-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'misses the re-grant SLO after a holder is killed while the safety checkers stay valid, and a run expected valid fails with its replay command',
    async () => {
      // The scenario as declared, but expected valid as a real build's run is: the missed SLO
      // alone must fail the run.
      const declared = parse(readFileSync(DEFAULT_SCENARIOS_FILE, 'utf8')) as {
        scenarios: Array<Record<string, unknown>>;
      };
      const scenario = declared.scenarios.find((s) => s['name'] === SCENARIO)!;
      expect(scenario['broken']).toBe('server-never-expires');
      const file = join(dir, 'scenarios.yaml');
      writeFileSync(file, stringify({ version: 1, scenarios: [{ ...scenario, expect: 'valid' }] }));
      const out = join(dir, 'out');
      const lines: string[] = [];
      const code = await runChaosCommand(
        ['--scenarios', file, '--scenario', SCENARIO, '--seed', String(SEED), '--out', out],
        (line) => {
          lines.push(line);
          process.stdout.write(`${line}\n`);
        },
      );
      const report = JSON.parse(
        readFileSync(join(out, `${SCENARIO}-${SEED}`, 'report.json'), 'utf8'),
      ) as RunReport & { verdict: RunVerdict };
      expect(report.errors).toEqual([]);
      // The killed worker held the scope: the re-grant figure is about it.
      const kill = report.timeline.find((r) => r.fault === 'kill-holder')!;
      expect(kill.scopes).toEqual(['chaos-s1']);
      const verdicts = Object.fromEntries(report.verdict.checkers.map((c) => [c.checker, c.verdict]));
      expect(verdicts).toEqual({
        'fenced-store': 'valid',
        grants: 'valid',
        linearizability: 'valid',
        'server-holders': 'valid',
        slo: 'invalid',
      });
      const slo = report.verdict.checkers.find((c) => c.checker === 'slo')!;
      expect(slo.violations).toEqual([
        expect.stringMatching(
          new RegExp(`kill-holder on ${kill.target}: re-grant never happened, expected at most 6000 ms$`),
        ),
      ]);
      expect(report.verdict.sloFigures.find((f) => f.fault === 'kill-holder')?.regrantMs).toBeNull();
      // A missed SLO fails the run: exit 1, report and JUnit marked failed, the replay printed.
      const replay = `npm run chaos -- --scenario ${SCENARIO} --seed ${SEED} --scenarios ${file}`;
      expect(code).toBe(RUN_EXIT.FAILED);
      expect(report.passed).toBe(false);
      expect(report.replay).toBe(replay);
      expect(lines).toContain(
        `FAILED ${SCENARIO}: verdict invalid, expected valid; seed ${SEED}; replay: ${replay}`,
      );
      const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
      expect(junit).toContain('tests="1" failures="1"');
      expect(junit).toContain(`replay: ${replay}`);
    },
    RUN_TIMEOUT_MS,
  );
});
