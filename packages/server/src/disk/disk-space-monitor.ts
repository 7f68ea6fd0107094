import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import { STORAGE_EXIT_CODES } from '../errors/exit-codes';

/** DiskSpace is what the file system says about the space under a folder. */
export interface DiskSpace {
  /** freeBytes is the space an unprivileged process may still use (statfs `bavail × bsize`). */
  readonly freeBytes: number;
  /** totalBytes is the size of the file system (statfs `blocks × bsize`). */
  readonly totalBytes: number;
}

/** DiskSpaceStatus is what /status shows of the data folder's file system. */
export interface DiskSpaceStatus {
  readonly dataDir: string;
  /** freeBytes and totalBytes are from the last successful check; null before the first one. */
  readonly freeBytes: number | null;
  readonly totalBytes: number | null;
  /** freeBytesMin is the threshold (diskFreeBytesMin); 0 turns the warning off. */
  readonly freeBytesMin: number;
  /** low is true while the last check found less than freeBytesMin free. */
  readonly low: boolean;
  /** checkedAt is when the last check ran (ISO 8601), successful or not; null before the first. */
  readonly checkedAt: string | null;
  /** error is why the last check failed, or null when it succeeded. */
  readonly error: string | null;
}

/** DiskSpaceMonitorOptions configures a DiskSpaceMonitor. */
export interface DiskSpaceMonitorOptions {
  readonly dataDir: string;
  /** freeBytesMin: below this many free bytes the node warns (log, metric, /status); 0 never warns. */
  readonly freeBytesMin: number;
  /** checkIntervalMs is the time between two checks. */
  readonly checkIntervalMs: number;
  readonly logger: Logger;
  /** measure reads the space of a folder; statfs by default (tests inject their own). */
  readonly measure?: (dir: string) => Promise<DiskSpace>;
}

/** measureDiskSpace reads the file system of `dir` with statfs. */
export async function measureDiskSpace(dir: string): Promise<DiskSpace> {
  const s = await statfs(dir);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

/**
 * DiskSpaceMonitor checks the free space of the data folder's file system every checkIntervalMs
 * and warns before the disk fills up: once free space drops under freeBytesMin it logs a warning
 * (again only after it recovered), and `status().low` turns true for /status and the metric
 * omnirelay_disk_space_low. It only warns: a write that fails on a full disk stops the node
 * (STORAGE_DISK_FULL), so nothing is acknowledged that was not persisted. Checks never overlap;
 * the timer does not keep the process alive.
 */
export class DiskSpaceMonitor {
  private space: DiskSpace | undefined;
  private low = false;
  private checkedAt: string | null = null;
  private error: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private readonly measure: (dir: string) => Promise<DiskSpace>;

  constructor(private readonly options: DiskSpaceMonitorOptions) {
    this.measure = options.measure ?? measureDiskSpace;
  }

  /** start runs the first check (so /status has a value from the start), then checks periodically. */
  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs);
    this.timer.unref();
  }

  /** stop ends the periodic checks; status() keeps the last values. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** check measures now (unless a check is already running) and logs when the space turns low or recovers. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    const { dataDir, freeBytesMin, logger } = this.options;
    try {
      const space = await this.measure(dataDir);
      this.space = space;
      this.error = null;
      const low = space.freeBytes < freeBytesMin;
      if (low && !this.low) {
        logger.warn(
          { dataDir, freeBytes: space.freeBytes, totalBytes: space.totalBytes, freeBytesMin },
          `the file system of ${dataDir} has ${space.freeBytes} bytes free, under diskFreeBytesMin ` +
            `${freeBytesMin}: free space or grow it now. When it is full, this node stops rather than ` +
            `acknowledge a write it cannot persist (STORAGE_DISK_FULL, exit code ${STORAGE_EXIT_CODES.STORAGE_DISK_FULL})`,
        );
      } else if (!low && this.low) {
        logger.info(
          { dataDir, freeBytes: space.freeBytes, freeBytesMin },
          'free disk space is above diskFreeBytesMin again',
        );
      }
      this.low = low;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (this.error !== message)
        logger.warn({ dataDir, err: message }, 'cannot read the free space of the data folder');
      this.error = message;
    } finally {
      this.checkedAt = new Date().toISOString();
      this.checking = false;
    }
  }

  /** status is the result of the last check. */
  status(): DiskSpaceStatus {
    return {
      dataDir: this.options.dataDir,
      freeBytes: this.space?.freeBytes ?? null,
      totalBytes: this.space?.totalBytes ?? null,
      freeBytesMin: this.options.freeBytesMin,
      low: this.low,
      checkedAt: this.checkedAt,
      error: this.error,
    };
  }
}
