import { tmpdir } from 'node:os';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { DiskSpace } from '../../src/disk/disk-space-monitor';
import { DiskSpaceMonitor, measureDiskSpace } from '../../src/disk/disk-space-monitor';

interface Logged {
  readonly level: 'warn' | 'info';
  readonly message: string;
}

/** recordingLogger keeps the warn and info lines a monitor logs. */
function recordingLogger(lines: Logged[]): Logger {
  return pino(
    { level: 'info' },
    {
      write(line: string) {
        const { level, msg } = JSON.parse(line) as { level: number; msg: string };
        lines.push({ level: level === 40 ? 'warn' : 'info', message: msg });
      },
    },
  );
}

/** scripted answers each check with the next value (a DiskSpace, or an Error to throw). */
function scripted(values: Array<DiskSpace | Error>): (dir: string) => Promise<DiskSpace> {
  return () => {
    const next = values.shift();
    if (next === undefined) throw new Error('no more scripted checks');
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
}

const GiB = 1024 ** 3;

describe('DiskSpaceMonitor', () => {
  it('warns once when free space drops under the threshold, and says when it recovered', async () => {
    const lines: Logged[] = [];
    const monitor = new DiskSpaceMonitor({
      dataDir: '/data/n1',
      freeBytesMin: GiB,
      checkIntervalMs: 60_000,
      logger: recordingLogger(lines),
      measure: scripted([
        { freeBytes: 5 * GiB, totalBytes: 10 * GiB },
        { freeBytes: GiB - 1, totalBytes: 10 * GiB },
        { freeBytes: 100, totalBytes: 10 * GiB },
        { freeBytes: GiB, totalBytes: 10 * GiB },
      ]),
    });
    await monitor.start();
    expect(monitor.status()).toMatchObject({
      freeBytes: 5 * GiB,
      totalBytes: 10 * GiB,
      low: false,
      error: null,
    });
    await monitor.check();
    expect(monitor.status()).toMatchObject({
      freeBytes: GiB - 1,
      low: true,
      freeBytesMin: GiB,
      dataDir: '/data/n1',
    });
    await monitor.check();
    expect(monitor.status().low).toBe(true);
    await monitor.check();
    expect(monitor.status().low).toBe(false);
    monitor.stop();
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info']);
    expect(lines[0]!.message).toMatch(
      /\/data\/n1 has 1073741823 bytes free, under diskFreeBytesMin 1073741824/,
    );
    expect(lines[0]!.message).toMatch(/STORAGE_DISK_FULL, exit code 14/);
  });

  it('never warns with a threshold of 0', async () => {
    const lines: Logged[] = [];
    const monitor = new DiskSpaceMonitor({
      dataDir: '/d',
      freeBytesMin: 0,
      checkIntervalMs: 60_000,
      logger: recordingLogger(lines),
      measure: scripted([{ freeBytes: 0, totalBytes: GiB }]),
    });
    await monitor.start();
    monitor.stop();
    expect(monitor.status()).toMatchObject({ freeBytes: 0, low: false });
    expect(lines).toEqual([]);
  });

  it('reports a failed check in status and logs each distinct failure once, keeping the last measurement', async () => {
    const lines: Logged[] = [];
    const monitor = new DiskSpaceMonitor({
      dataDir: '/d',
      freeBytesMin: 10,
      checkIntervalMs: 60_000,
      logger: recordingLogger(lines),
      measure: scripted([
        { freeBytes: 50, totalBytes: 100 },
        new Error('ENOENT: no such file or directory'),
        new Error('ENOENT: no such file or directory'),
        { freeBytes: 40, totalBytes: 100 },
      ]),
    });
    await monitor.start();
    await monitor.check();
    await monitor.check();
    expect(monitor.status()).toMatchObject({ freeBytes: 50, error: 'ENOENT: no such file or directory' });
    await monitor.check();
    monitor.stop();
    expect(monitor.status()).toMatchObject({ freeBytes: 40, error: null });
    expect(lines).toEqual([{ level: 'warn', message: 'cannot read the free space of the data folder' }]);
  });

  it('runs one check at a time', async () => {
    let calls = 0;
    let release: () => void = () => undefined;
    const monitor = new DiskSpaceMonitor({
      dataDir: '/d',
      freeBytesMin: 0,
      checkIntervalMs: 60_000,
      logger: pino({ level: 'silent' }),
      measure: () => {
        calls++;
        return new Promise((resolve) => (release = () => resolve({ freeBytes: 1, totalBytes: 2 })));
      },
    });
    const first = monitor.check();
    await monitor.check();
    release();
    await first;
    expect(calls).toBe(1);
    expect(monitor.status().checkedAt).not.toBeNull();
  });
});

describe('measureDiskSpace', () => {
  it('reads the free and total bytes of a real folder with statfs', async () => {
    const space = await measureDiskSpace(tmpdir());
    expect(space.totalBytes).toBeGreaterThan(0);
    expect(space.freeBytes).toBeGreaterThanOrEqual(0);
    expect(space.freeBytes).toBeLessThanOrEqual(space.totalBytes);
  });
});
