/**
 * A worker that campaigns for `shard/orders/7` and, while it leads, appends an order line to the
 * fenced store every 200 ms, carrying its fence token. Run two and kill one to watch the other
 * take over; pause one (kill -STOP) past its TTL to watch the store refuse its late writes.
 *
 *   node -r @swc-node/register examples/fenced-worker/worker.ts --id w1 \
 *     --endpoints 127.0.0.1:7301,127.0.0.1:7302,127.0.0.1:7303 --store http://127.0.0.1:7400
 */
import { parseArgs } from 'node:util';
import type { Lease } from '@omnirelay/client-sdk';
import { LeaderElector, createClient } from '@omnirelay/client-sdk';

const SCOPE = 'shard/orders/7';
const { values } = parseArgs({
  options: {
    id: { type: 'string', default: `worker-${process.pid}` },
    endpoints: {
      type: 'string',
      default: process.env['OMNIRELAY_ENDPOINTS'] ?? '127.0.0.1:7301,127.0.0.1:7302,127.0.0.1:7303',
    },
    store: { type: 'string', default: 'http://127.0.0.1:7400' },
    'ttl-ms': { type: 'string', default: '2000' },
  },
});
const id = values.id;
const log = (line: string): void => void process.stdout.write(`[${id}] ${line}\n`);

const client = createClient({ endpoints: values.endpoints.split(','), candidateId: id });

/** lead writes while the lease holds; the store's FenceGuard refuses us if a newer holder wrote. */
async function lead(lease: Lease): Promise<void> {
  log(`leading ${SCOPE} with fence ${lease.fence}`);
  for (let n = 1; !lease.signal.aborted; n++) {
    // Check right before acting (a timer can fire late after a pause; this check cannot).
    if (!lease.isValid()) break;
    const res = await fetch(`${values.store}/append`, {
      method: 'POST',
      body: JSON.stringify({ scope: SCOPE, fence: lease.fence.toString(), line: `order ${n} by ${id}` }),
      signal: AbortSignal.timeout(2000),
    }).catch((e: unknown) => ({ status: 0, text: () => Promise.resolve(String(e)) }));
    if (res.status === 409) {
      log(`the store refused fence ${lease.fence}: a newer leader wrote; stepping back`);
      break;
    }
    if (res.status !== 200) log(`store answered ${res.status}: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const elector = new LeaderElector(client, {
  scope: SCOPE,
  ttlMs: Number(values['ttl-ms']),
  metadata: id,
  onStartedLeading: (lease) => void lead(lease),
  onStoppedLeading: (reason) => log(`stopped leading (${reason})`),
  onNewLeader: (leader) => log(`leader of ${SCOPE} is now ${leader || 'nobody'}`),
  onError: (e) => log(`retrying after: ${String(e)}`),
}).start();

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log('stopping: resigning so the next worker takes over at once');
    void elector.stop().finally(() => {
      client.close();
      process.exit(0);
    });
  });
}
