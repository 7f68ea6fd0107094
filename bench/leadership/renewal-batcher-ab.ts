/**
 * renewal-batcher-ab compares the RenewalBatcher of an earlier commit with this tree's, in one
 * process and interleaved round by round (each round runs both, in alternating order), so the
 * shared machine's noise falls on both alike. The workload is a loaded leader's: 100,000 leases held
 * by 100 clients, each client's KeepAlive request listing its 1,000 leases (their keys computed
 * once, as a stream does), every lease renewed once per round; the entry answers each lease in
 * order with the state machine's own scope string (as the FSM does), one entry per batch. The
 * lease objects are spread over a heap of a few hundred MiB, and the caches are swept before each
 * round, so every map lookup pays the misses it pays on a leader. Prints each batcher's time per
 * renewal and the ratio; writes nothing.
 *
 *   node --expose-gc -r @swc-node/register bench/leadership/renewal-batcher-ab.ts REV [ROUNDS]
 */
import type { LeaseRef, RenewItem } from '../../packages/leadership-fsm/src';
import { LEASE_BATCH_BYTES_MAX, RENEW_BATCH_MAX } from '../../packages/leadership-fsm/src';
import type { Renewable } from '../../packages/server/src/leadership/renewal-batcher';
import { RenewalBatcher, leaseKey } from '../../packages/server/src/leadership/renewal-batcher';
import { ColdSweep } from '../fsm/due-scan-workload';
import { requireAtRevision } from '../support/at-revision';

const CLIENTS = 100;
const LEASES_PER_CLIENT = 1_000;
/** JUNK_PER_LEASE objects are made between two leases' objects, as other work fills a leader's heap. */
const JUNK_PER_LEASE = 40;

/**
 * OldBatcher is the earlier batcher as the workload uses it: its callers handed over their leases'
 * keys (before the batcher took Renewables, which keep their pending counts too).
 */
interface OldBatcher {
  renewMany(leases: readonly LeaseRef[], keys?: readonly string[]): Promise<RenewItem[]>;
}
type OldBatcherClass = new (
  batchMax: number,
  batchBytesMax: number,
  proposeBatch: (leases: readonly LeaseRef[]) => Promise<readonly RenewItem[]>,
) => OldBatcher;

/** Client is one client's request: its leases, their keys, and each lease as a KeepAlive stream keeps it. */
interface Client {
  readonly leases: LeaseRef[];
  readonly keys: string[];
  readonly held: Renewable[];
}

const rev = process.argv[2];
const rounds = Number(process.argv[3] ?? 20);
if (rev === undefined || !Number.isInteger(rounds) || rounds < 1) {
  console.error(
    'usage: node --expose-gc -r @swc-node/register bench/leadership/renewal-batcher-ab.ts REV [ROUNDS]',
  );
  process.exit(2);
}
const Old = requireAtRevision<{ RenewalBatcher: OldBatcherClass }>(
  rev,
  'packages/server/src/leadership/renewal-batcher.ts',
).RenewalBatcher;

/** Listed is a lease as a request lists it, carrying the answer the state machine will give it (own scope string and fence). */
interface Listed extends LeaseRef {
  readonly answer: RenewItem;
}
const junk: unknown[] = [];
const clients: Client[] = Array.from({ length: CLIENTS }, () => ({ leases: [], keys: [], held: [] }));
// Leases are acquired interleaved across clients, as concurrent clients do, with other work between.
for (let n = 0; n < LEASES_PER_CLIENT; n++) {
  for (let c = 0; c < CLIENTS; c++) {
    const scope = `scale/c${c}/${n}`;
    const fenceToken = BigInt(n * CLIENTS + c + 1);
    const answer: RenewItem = { scope, fenceToken: BigInt(fenceToken), renewed: true, deadlineMs: 0 };
    const lease: Listed = { scope: scope.split('').join(''), fenceToken, answer };
    clients[c]!.leases.push(lease);
    clients[c]!.keys.push(leaseKey(lease));
    clients[c]!.held.push({ key: leaseKey(lease), pending: undefined });
    for (let j = 0; j < JUNK_PER_LEASE; j++) junk.push({ j, s: `junk${j}`, a: [j] });
  }
}

/** proposeBatch answers a batch as one applied entry would, a turn later. */
const proposeBatch = async (leases: readonly LeaseRef[]): Promise<readonly RenewItem[]> => {
  await new Promise((resolve) => setImmediate(resolve));
  return leases.map((lease) => (lease as Listed).answer);
};

/** round renews every lease once through `renew` (every client's request at once) and answers its time. */
async function round(renew: (c: Client) => Promise<unknown>): Promise<number> {
  const began = performance.now();
  await Promise.all(clients.map(renew));
  return performance.now() - began;
}

async function main(): Promise<void> {
  const old = new Old(RENEW_BATCH_MAX, LEASE_BATCH_BYTES_MAX, proposeBatch);
  const now = new RenewalBatcher(RENEW_BATCH_MAX, LEASE_BATCH_BYTES_MAX, proposeBatch);
  const subjects = [
    { name: rev!, renew: (c: Client) => old.renewMany(c.leases, c.keys), ms: 0 },
    { name: 'this tree', renew: (c: Client) => now.renewMany(c.leases, c.held), ms: 0 },
  ];
  const cold = new ColdSweep();
  for (const s of subjects) await round(s.renew); // warm-up: every lease gets its pending entry
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 === 0 ? subjects : [...subjects].reverse()) {
      (globalThis as { gc?: () => void }).gc?.();
      cold.sweep();
      s.ms += await round(s.renew);
    }
  }
  const renewals = rounds * CLIENTS * LEASES_PER_CLIENT;
  const perRenewal = (ms: number): string => ((ms * 1e6) / renewals).toFixed(0);
  console.log(
    `renewals of ${CLIENTS * LEASES_PER_CLIENT} leases, ${rounds} rounds (heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB, ${junk.length} other objects): ` +
      subjects.map((s) => `${s.name} ${perRenewal(s.ms)} ns`).join(', ') +
      ` per renewal; ratio ${(subjects[1]!.ms / subjects[0]!.ms).toFixed(2)}`,
  );
}

void main();
