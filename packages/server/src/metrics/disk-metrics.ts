import type { Registry } from 'prom-client';
import { Gauge } from 'prom-client';
import type { DiskSpaceStatus } from '../disk/disk-space-monitor';

/**
 * registerDiskMetrics registers the gauges of the data folder's file system, read at scrape time
 * from the monitor's last check: free and total bytes (NaN before the first successful check and
 * while checks fail; /status says why), the threshold, and omnirelay_disk_space_low, which turns 1
 * before the disk is full, while there is still time to act.
 */
export function registerDiskMetrics(registry: Registry, status: () => DiskSpaceStatus): void {
  const gauge = (name: string, help: string, read: (s: DiskSpaceStatus) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(status()));
      },
    });
  };
  gauge(
    'omnirelay_disk_free_bytes',
    'Bytes free for this node on the file system of its data folder, at the last check (statfs bavail × bsize; NaN when the check failed).',
    (s) => (s.error === null ? (s.freeBytes ?? NaN) : NaN),
  );
  gauge(
    'omnirelay_disk_total_bytes',
    'Size of the file system of the data folder, at the last check (bytes; NaN when the check failed).',
    (s) => (s.error === null ? (s.totalBytes ?? NaN) : NaN),
  );
  gauge(
    'omnirelay_disk_free_bytes_min',
    'The diskFreeBytesMin setting: under this many free bytes the node warns (bytes; 0: never).',
    (s) => s.freeBytesMin,
  );
  gauge(
    'omnirelay_disk_space_low',
    '1 while the data folder has less free space than diskFreeBytesMin, else 0. A node whose disk fills up stops (exit code 14) rather than acknowledge a write it cannot persist: act while this is 1.',
    (s) => (s.low ? 1 : 0),
  );
}
