/**
 * A stand-in for chaos/src/workload/worker.ts (task h17b) with the same interface, so the runner
 * can be tested before the real workload lands. It acquires one of its scopes at a time through
 * the SDK, writes to the fenced store under the fence, renews, validates and resigns, and records
 * every call in the history format of chaos/README.md.
 *
 *   node -r @swc-node/register chaos/test/helpers/stand-in-worker.ts --id w1 --endpoints h:p,... \
 *     --scopes a,b --store http://127.0.0.1:<port> --out <dir> --seed N --duration-ms N --ttl-ms N
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Lease } from '@omnirelay/client-sdk';
import { createClient, isOmniRelayError } from '@omnirelay/client-sdk';
import { Prng } from '../../src/harness/prng';

const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    endpoints: { type: 'string' },
    scopes: { type: 'string' },
    store: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'duration-ms': { type: 'string', default: '10000' },
    'ttl-ms': { type: 'string', default: '2000' },
    'token-file': { type: 'string' },
  },
});
const { id, endpoints, scopes, store, out } = values;
if (
  id === undefined ||
  endpoints === undefined ||
  scopes === undefined ||
  store === undefined ||
  out === undefined
) {
  process.stderr.write('worker: --id, --endpoints, --scopes, --store and --out are required\n');
  process.exit(2);
}
const file = join(out, `client-${id}.jsonl`);
const ttlMs = Number(values['ttl-ms']);
const endAt = Date.now() + Number(values['duration-ms']);
const prng = new Prng(Number(values.seed));
const client = createClient({ endpoints: endpoints.split(','), candidateId: id, callTimeoutMs: 3000 });

/**
 * REFUSED_CODES are refusals that certainly took no effect (fail). Any other error leaves the
 * effect unknown (info): a timeout, a lost connection, or LEASE_LOST after an acquire that the
 * cluster granted while this process was paused.
 */
const REFUSED_CODES = new Set([
  'BATCH_TOO_LARGE',
  'HELD_BY_OTHER_SESSION',
  'INVALID_ARGUMENT',
  'INVALID_SCOPE',
  'LIMIT_REACHED',
  'METADATA_TOO_LARGE',
  'NOT_FOUND',
  'NOT_HOLDER',
  'PAYLOAD_TOO_LARGE',
  'QUEUE_FULL',
  'SCOPE_LIMIT_REACHED',
  'STALE_FENCE',
  'TTL_OUT_OF_RANGE',
]);

function record(type: string, f: string, scope: string, value: Record<string, unknown>): void {
  const line = { process: id, type, f, scope, value, time: process.hrtime.bigint().toString() };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

/** call records invoke, runs `op`, then records ok (with its value) or fail / info by the error. */
async function call<T>(
  f: string,
  scope: string,
  value: Record<string, unknown>,
  op: () => Promise<T>,
  okValue: (t: T) => Record<string, unknown>,
): Promise<T | undefined> {
  record('invoke', f, scope, value);
  try {
    const result = await op();
    record('ok', f, scope, okValue(result));
    return result;
  } catch (e) {
    const code = isOmniRelayError(e) ? e.code : 'UNKNOWN';
    record(REFUSED_CODES.has(code) ? 'fail' : 'info', f, scope, { code });
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function write(scope: string, lease: Lease): Promise<boolean> {
  const fence = lease.fence.toString();
  record('invoke', 'write', scope, { fence });
  try {
    const res = await fetch(`${store}/write`, {
      method: 'POST',
      body: JSON.stringify({ scope, fence, writer: id }),
      signal: AbortSignal.timeout(2000),
    });
    record(
      res.status === 200 ? 'ok' : res.status === 409 ? 'fail' : 'info',
      'write',
      scope,
      res.status === 409 ? { code: 'STALE_FENCE' } : {},
    );
    return res.status === 200;
  } catch {
    record('info', 'write', scope, {});
    return false;
  }
}

async function main(): Promise<void> {
  const names = scopes!.split(',');
  process.stdout.write('{"ready":true}\n');
  while (Date.now() < endAt) {
    const scope = prng.pick(names);
    const lease = await call(
      'acquire',
      scope,
      { candidate: id, session: client.sessionId },
      () => client.acquire(scope, { ttlMs }),
      (l) => (l === null ? { granted: false } : { granted: true, fence: l.fence.toString() }),
    );
    if (lease === undefined || lease === null) {
      await sleep(prng.int(50, 250));
      continue;
    }
    for (let round = 0; round < prng.int(2, 5) && Date.now() < endAt; round++) {
      // Check right before acting; a paused process wakes up here with an old lease.
      if (!(await write(scope, lease))) break;
      await sleep(prng.int(50, 200));
      const renewed = await call(
        'renew',
        scope,
        { fence: lease.fence.toString() },
        () => client.renew(lease),
        () => ({}),
      );
      if (renewed === undefined) break;
      await call(
        'validate',
        scope,
        { fence: lease.fence.toString(), serializable: false },
        () => client.validateFence(scope, lease.fence),
        (v) => ({ valid: v.valid }),
      );
    }
    // Lease.resign() of a lease that already ended (lost while this process was paused) answers
    // at once without asking the cluster: that is no cluster operation, so it is not recorded.
    if (lease.endedReason === undefined) {
      await call(
        'resign',
        scope,
        { fence: lease.fence.toString() },
        () => lease.resign(),
        () => ({}),
      );
    }
    await sleep(prng.int(50, 250));
  }
}

process.on('SIGTERM', () => {
  client.close();
  process.exit(0);
});
main().then(
  () => {
    client.close();
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`worker ${id}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
