import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** STEP_MS_MAX bounds each wait of this test (the smoke bench starting its nodes, everything stopping). */
const STEP_MS_MAX = 60_000;
/** POLL_MS is how often the test looks at the process table. */
const POLL_MS = 100;

const ROOT = join(__dirname, '..');

/** childrenOf lists the PIDs whose parent is `pid` (pgrep -P). */
function childrenOf(pid: number): number[] {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

/** alive tells whether process `pid` still exists (a zombie counts as gone). */
function alive(pid: number): boolean {
  const r = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
  const stat = r.stdout.trim();
  return stat !== '' && !stat.startsWith('Z');
}

async function waitFor(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + STEP_MS_MAX;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

describe('npm run bench, stopped with SIGTERM', () => {
  let runner: ChildProcess | undefined;
  /** bench is the bench process the runner started (0 until seen). */
  let bench = 0;
  /** scratch is the temp folder the bench is given (TMPDIR): where it makes its cluster's data folder. */
  let scratch: string | undefined;

  // Whatever is left (the runner, the bench, the nodes it runs, also one it restarted since) is
  // killed by PID: the bench is frozen first, so it starts no node while its children are listed.
  afterEach(() => {
    const kill = (pid: number | undefined, signal: NodeJS.Signals): void => {
      if (pid === undefined || pid === 0 || !alive(pid)) return;
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    };
    kill(bench, 'SIGSTOP');
    for (const pid of bench === 0 ? [] : childrenOf(bench)) kill(pid, 'SIGKILL');
    kill(bench, 'SIGKILL');
    kill(runner?.pid, 'SIGKILL');
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  it(
    'stops the bench it runs and the cluster that bench started, not only itself, and removes its data folder',
    async () => {
      scratch = mkdtempSync(join(tmpdir(), 'bench-runner-'));
      runner = spawn(
        process.execPath,
        ['-r', '@swc-node/register', join(ROOT, 'bench/run.ts'), 'scale', '--smoke', '--only', 'omnirelay'],
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: scratch } },
      );
      let stderr = '';
      runner.stderr!.on('data', (c: Buffer) => {
        stderr += c.toString('utf8');
      });
      const runnerExit = new Promise<number | null>((r) => runner!.once('exit', (code) => r(code)));
      const runnerPid = runner.pid!;

      // The bench process, then its three nodes.
      await waitFor('the bench process', () => {
        bench = childrenOf(runnerPid)[0] ?? 0;
        return bench !== 0;
      });
      await waitFor(
        'the bench to start 3 nodes',
        () =>
          childrenOf(bench).length >= 3 && stderr.includes('omnirelay: starting a fresh 3-member cluster'),
      );
      const nodes = childrenOf(bench);

      process.kill(runnerPid, 'SIGTERM');
      const code = await runnerExit;
      await waitFor('the bench and its nodes to exit', () => [bench, ...nodes].every((pid) => !alive(pid)));
      expect({
        code,
        stderr: stderr.includes('SIGTERM: killing every child by PID'),
        left: readdirSync(scratch).filter((name) => name.startsWith('compare-')),
      }).toEqual({ code: 130, stderr: true, left: [] });
    },
    3 * STEP_MS_MAX,
  );
});
