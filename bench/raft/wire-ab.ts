/**
 * wire-ab compares the Raft peer wire conversion (messageToWire / messageFromWire) of an earlier
 * commit with this tree's, in one process, round by round, each round running both in alternating
 * order so the shared machine's noise falls on both alike. For each message shape a node sends
 * most (a heartbeat, an acknowledgement, an append of 1 and of 16 entries of 150 bytes) it times
 * the conversion alone, the conversion and proto-loader's serialization of a MessageBatch (what a
 * peer link writes), and the deserialization and conversion back (what the receiving transport
 * does). Prints µs per message and the new/old ratio of each; writes nothing.
 *
 *   node -r @swc-node/register bench/raft/wire-ab.ts REV [ROUNDS]
 */
import type { Message } from '../../packages/raft/src/core/index';
import { loadRaftPeerService } from '../../packages/raft/src/transport/proto';
import * as current from '../../packages/raft/src/transport/wire';
import type { WireMessage } from '../../packages/raft/src/transport/wire';
import { requireAtRevision } from '../support/at-revision';

type WireModule = Pick<typeof current, 'messageToWire' | 'messageFromWire'>;
type Sent = Exclude<Message, { type: 'snapshot' }>;

/** CALLS is how many times each figure's operation runs per round (after as many unmeasured). */
const CALLS = 20_000;

const rev = process.argv[2];
const rounds = Number(process.argv[3] ?? 5);
if (rev === undefined || !Number.isInteger(rounds) || rounds < 1) {
  console.error('usage: node -r @swc-node/register bench/raft/wire-ab.ts REV [ROUNDS]');
  process.exit(2);
}
const old = requireAtRevision<WireModule>(rev, 'packages/raft/src/transport/wire.ts');
const stream = loadRaftPeerService().definition['Stream']!;

const entry = (index: number): Extract<Sent, { type: 'append' }>['entries'][number] => ({
  kind: 'command',
  index,
  term: 7,
  data: Buffer.alloc(150, 1),
});
const append = (n: number): Sent => ({
  type: 'append',
  from: 'n1',
  to: 'n2',
  term: 7,
  prevLogIndex: 999,
  prevLogTerm: 7,
  entries: Array.from({ length: n }, (_, i) => entry(1000 + i)),
  commit: 998,
  incarnation: 'i-1',
});
const SHAPES: ReadonlyArray<readonly [string, Sent]> = [
  [
    'heartbeat',
    { type: 'heartbeat', from: 'n1', to: 'n2', term: 7, commit: 998, readSeq: 5, incarnation: 'i-1' },
  ],
  [
    'appendResponse',
    {
      type: 'appendResponse',
      from: 'n2',
      to: 'n1',
      term: 7,
      reject: false,
      index: 1000,
      hintIndex: 0,
      hintTerm: 0,
      incarnation: 'i-2',
    },
  ],
  ['append of 1', append(1)],
  ['append of 16', append(16)],
];

/** usPer answers µs per call of `fn`, after as many unmeasured calls. */
function usPer(fn: () => unknown): number {
  for (let i = 0; i < CALLS; i++) fn();
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) fn();
  return Number(process.hrtime.bigint() - started) / 1000 / CALLS;
}

function figures(w: WireModule, m: Sent, bytes: Buffer): [number, number, number] {
  const batch = (messages: WireMessage[]): unknown => ({
    from: m.from,
    clusterId: 'c',
    messages,
    sentAtMs: 1,
  });
  return [
    usPer(() => w.messageToWire(m)),
    usPer(() => stream.requestSerialize(batch([w.messageToWire(m)]))),
    usPer(() =>
      (stream.requestDeserialize(bytes) as { messages: WireMessage[] }).messages.map(w.messageFromWire),
    ),
  ];
}

const LABELS = ['to wire', 'to wire + serialize', 'deserialize + from wire'] as const;
const sums = new Map<string, { old: number[]; new: number[] }>();
for (let round = 0; round < rounds; round++) {
  for (const [name, m] of SHAPES) {
    const bytes = stream.requestSerialize({
      from: m.from,
      clusterId: 'c',
      messages: [current.messageToWire(m)],
    });
    const order = round % 2 === 0 ? (['old', 'new'] as const) : (['new', 'old'] as const);
    for (const which of order) {
      const got = figures(which === 'old' ? old : current, m, bytes);
      LABELS.forEach((label, i) => {
        const key = `${name}: ${label}`;
        const entry = sums.get(key) ?? { old: [], new: [] };
        entry[which].push(got[i]!);
        sums.set(key, entry);
      });
    }
  }
}
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
console.log(
  `wire conversion, ${rev} (old) against this tree (new), median of ${rounds} rounds, µs per message:`,
);
for (const [key, { old: o, new: n }] of sums) {
  console.log(
    `  ${key.padEnd(44)} old ${median(o).toFixed(2).padStart(6)}  new ${median(n).toFixed(2).padStart(6)}  new/old ${(median(n) / median(o)).toFixed(2)}`,
  );
}
