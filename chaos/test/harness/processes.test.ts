import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CleanupRegistry } from '../../src/harness/cleanup';
import { ManagedProcess } from '../../src/harness/processes';

/** TICKER prints "ready", then a counter every 20 ms, for at most 20 s. */
const TICKER =
  "console.log('ready');let i=0;const t=setInterval(()=>console.log(String(i++)),20);setTimeout(()=>clearInterval(t),20000)";

/** stopped polls /proc/<pid>/stat ("pid (comm) S ...", T when stopped) until it is `want` (at most 1 s). */
async function stopped(pid: number, want: boolean): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    if ((state === 'T') === want) return want;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !want;
}

describe('ManagedProcess', () => {
  it('pauses, resumes, kills -9, restarts and stops a process by PID', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaos-proc-'));
    const cleanup = new CleanupRegistry();
    try {
      const p = new ManagedProcess(
        {
          name: 'ticker',
          argv: [process.execPath, '-e', TICKER],
          logFile: join(dir, 'log'),
          pipeStdout: true,
        },
        cleanup,
      );
      p.start();
      await p.waitForLine((l) => l === 'ready', 10_000);
      const pid = p.pid ?? 0;
      p.pause();
      expect(await stopped(pid, true)).toBe(true);
      p.resume();
      expect(await stopped(pid, false)).toBe(false);
      await p.kill();
      expect(p.running).toBe(false);
      expect(p.exits).toEqual(['SIGKILL']);
      p.start();
      await p.waitForLine((l) => l === 'ready', 10_000);
      expect(p.pid).not.toBe(pid);
      p.pause();
      // cleanup stops it even while paused (SIGCONT, then SIGTERM).
      expect(await cleanup.runAll()).toEqual([]);
      expect(p.running).toBe(false);
      expect(p.exits).toEqual(['SIGKILL', 'SIGTERM']);
    } finally {
      await cleanup.runAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
