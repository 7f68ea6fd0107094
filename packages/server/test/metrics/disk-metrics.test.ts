import type { SingleNode } from '../support/single-node';
import { startSingleNode } from '../support/single-node';
import { sampleOf } from './exposition';

interface DiskBody {
  readonly disk: {
    readonly dataDir: string;
    readonly freeBytes: number;
    readonly totalBytes: number;
    readonly freeBytesMin: number;
    readonly low: boolean;
    readonly checkedAt: string;
    readonly error: string | null;
  };
}

async function scrape(node: SingleNode): Promise<{ status: DiskBody; metrics: string }> {
  const base = `http://${node.server.http.address}`;
  const status = (await (await fetch(`${base}/status`)).json()) as DiskBody;
  const metrics = await (await fetch(`${base}/metrics`)).text();
  return { status, metrics };
}

describe('the free space of the data folder in /status and /metrics (issue 15 item 9)', () => {
  jest.setTimeout(30_000);

  it('shows the space low, in /status and omnirelay_disk_space_low, when free space is under diskFreeBytesMin', async () => {
    // No disk has 2^53 - 1 bytes free: the threshold is crossed on any machine.
    const node = await startSingleNode(['--disk-free-bytes-min', String(Number.MAX_SAFE_INTEGER)]);
    try {
      const { status, metrics } = await scrape(node);
      expect(status.disk).toMatchObject({ dataDir: node.dataDir, low: true, error: null });
      expect(status.disk.freeBytesMin).toBe(Number.MAX_SAFE_INTEGER);
      expect(status.disk.freeBytes).toBeGreaterThan(0);
      expect(status.disk.totalBytes).toBeGreaterThanOrEqual(status.disk.freeBytes);
      expect(Date.parse(status.disk.checkedAt)).not.toBeNaN();
      expect(sampleOf(metrics, 'omnirelay_disk_space_low')).toBe(1);
      expect(sampleOf(metrics, 'omnirelay_disk_free_bytes_min')).toBe(Number.MAX_SAFE_INTEGER);
      expect(sampleOf(metrics, 'omnirelay_disk_free_bytes')).toBeGreaterThan(0);
      expect(sampleOf(metrics, 'omnirelay_disk_total_bytes')).toBeGreaterThan(0);
    } finally {
      await node.stop();
    }
  });

  it('shows the space fine when free space is above diskFreeBytesMin', async () => {
    const node = await startSingleNode(['--disk-free-bytes-min', '0', '--disk-check-interval-ms', '100']);
    try {
      const { status, metrics } = await scrape(node);
      expect(status.disk).toMatchObject({ low: false, freeBytesMin: 0, error: null });
      expect(sampleOf(metrics, 'omnirelay_disk_space_low')).toBe(0);
      expect(sampleOf(metrics, 'omnirelay_disk_free_bytes')).toBeGreaterThan(0);
    } finally {
      await node.stop();
    }
  });
});
