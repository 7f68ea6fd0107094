import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheckCommand } from '../src/check-command';

const ROOT = join(__dirname, '..', '..');
const runs = join(__dirname, 'testdata', 'runs');

/** run calls the command in this process and collects what it wrote. */
function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const status = runCheckCommand(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { status, stdout, stderr };
}

describe('runCheckCommand', () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'chaos-check-'));
  });
  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('prints and writes a valid verdict and exits 0', () => {
    const file = join(out, 'verdict.json');
    const { status, stdout } = run(join(runs, 'valid'), '--out', file);
    expect(status).toBe(0);
    const verdict = JSON.parse(stdout) as { verdict: string; checkers: { checker: string }[] };
    expect(verdict.verdict).toBe('valid');
    expect(verdict.checkers).toHaveLength(5);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(verdict);
  });

  it('exits 1 with the violations on a broken run', () => {
    const { status, stdout } = run(join(runs, 'split-brain'));
    expect(status).toBe(1);
    expect(stdout).toMatch(/accepted fences went down, a stale writer got through/);
  });

  it('exits 2 when the step budget runs out', () => {
    const { status, stdout } = run(join(runs, 'valid'), '--step-budget', '1');
    expect(status).toBe(2);
    expect(stdout).toMatch(/unknown: budget exhausted after 1 steps/);
  });

  it('exits 3 with a clear message on bad arguments', () => {
    const cases: [string[], RegExp][] = [
      [[], /name exactly one run folder/],
      [['a', 'b'], /name exactly one run folder/],
      [[join(runs, 'valid'), '--step-budget', 'lots'], /--step-budget must be a positive integer, got lots/],
      [
        [join(runs, 'valid'), '--step-budget', '0'],
        /INVALID_ARGUMENT: stepBudget must be an integer in 1\.\./,
      ],
      [[join(out, 'missing')], /INVALID_ARGUMENT: .*missing is not a folder/],
      [['--colour', join(runs, 'valid')], /Unknown option '--colour'/],
    ];
    for (const [argv, message] of cases) {
      const { status, stdout, stderr } = run(...argv);
      expect([status, stdout]).toEqual([3, '']);
      expect(stderr).toMatch(message);
    }
  });

  it('runs as the harness will call it: node -r @swc-node/register chaos/check.ts <dir>', () => {
    // spawnSync waits for the child and kills it past the timeout, so nothing outlives the test.
    const child = spawnSync(
      process.execPath,
      ['-r', '@swc-node/register', join(ROOT, 'chaos/check.ts'), join(runs, 'split-brain')],
      { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
    );
    expect(child.status).toBe(1);
    expect((JSON.parse(child.stdout) as { verdict: string }).verdict).toBe('invalid');
  });
});
