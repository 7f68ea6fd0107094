import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { useLocalCluster } from '../../../server/test/cluster/cluster-helpers';
import { FenceGuard, createClient, isOmniRelayError } from '../../src/index';
import { sleep, waitFor } from '../support/solo';

const TTL_MS = 1000;

/** startStore runs a tiny fenced store: POST {scope, fence, value} is admitted through a FenceGuard. */
async function startStore(): Promise<{ url: string; writes: string[]; server: Server }> {
  const guard = new FenceGuard();
  const writes: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const w = JSON.parse(body) as { scope: string; fence: string; value: string };
      try {
        guard.admit(w.scope, BigInt(w.fence));
        writes.push(`${w.fence}:${w.value}`);
        res.writeHead(200).end(JSON.stringify({ ok: true }));
      } catch (e) {
        const code = isOmniRelayError(e) ? e.code : 'INTERNAL';
        res.writeHead(409).end(JSON.stringify({ error: { code, message: String((e as Error).message) } }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/write`, writes, server };
}

describe('a holder paused with SIGSTOP past its TTL (3 real processes)', () => {
  const cluster = useLocalCluster('sdk-paused', { size: 3 });
  jest.setTimeout(60_000);

  it('loses the scope to a higher fence, and its late write is rejected by the FenceGuard', async () => {
    await cluster().waitForLeader();
    const endpoints = cluster().nodes.map((n) => n.grpcAddress);
    const store = await startStore();
    const child = spawn(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        join(__dirname, '../support/holder-child.ts'),
        endpoints.join(','),
        'gc/1',
        String(TTL_MS),
        store.url,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const events: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout }).on('line', (line) =>
      events.push(JSON.parse(line) as Record<string, unknown>),
    );
    const rival = createClient({ endpoints, candidateId: 'rival' });
    try {
      await waitFor('the child to hold the scope', () => events.some((e) => e.event === 'held'), 20_000);
      const firstFence = BigInt(events.find((e) => e.event === 'held')!.fence as string);
      child.stdin.write('prepare\n');
      await waitFor('the child to prepare its write', () => events.some((e) => e.event === 'prepared'));
      expect(events.find((e) => e.event === 'prepared')!.valid).toBe(true);

      process.kill(child.pid!, 'SIGSTOP');
      const lease = await rival.campaign('gc/1', { ttlMs: 5000 });
      expect(lease.fence).toBeGreaterThan(firstFence);
      const res = await fetch(store.url, {
        method: 'POST',
        body: JSON.stringify({ scope: 'gc/1', fence: lease.fence.toString(), value: 'written by the rival' }),
      });
      expect(res.status).toBe(200);
      await sleep(200);

      process.kill(child.pid!, 'SIGCONT');
      child.stdin.write('write\n');
      await waitFor('the late write to be answered', () => events.some((e) => e.event === 'wrote'));
      const wrote = events.find((e) => e.event === 'wrote')!;
      expect(wrote.status).toBe(409);
      expect((wrote.body as { error: { code: string } }).error.code).toBe('STALE_FENCE');
      expect(store.writes).toEqual([`${lease.fence}:written by the rival`]);
      // Once running again the first holder also learns it lost the lease.
      await waitFor('the child to see its lease end', () => events.some((e) => e.event === 'lost'));
      await lease.resign();
    } finally {
      process.kill(child.pid!, 'SIGCONT');
      child.kill('SIGKILL');
      rival.close();
      store.server.close();
    }
  });
});
