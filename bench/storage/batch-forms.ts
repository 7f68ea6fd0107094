/**
 * batch-forms compares the two ways of handing LevelDB one synced save: abstract-level's array
 * form, `db.batch(ops, { sync: true })` (what LevelStorage used before session 30), and a chained
 * batch, `db.batch().put(…)….write({ sync: true })` (LevelStorage's own `syncedBatch`, called
 * here). One store in a temporary folder, both forms in one process, rounds alternating which goes first so the shared
 * machine's noise falls on both alike. Each save is what a Ready writes: N entries of 200 bytes
 * under fresh keys and the hard state. Two figures per form and size, medians over the rounds:
 * the event loop's time until the call returned its promise (the write is on LevelDB's thread by
 * then), and the whole save. Writes bench/results/batch-forms.json.
 *
 *   node -r @swc-node/register bench/storage/batch-forms.ts [ROUNDS] [SAVES]
 */
import { Level } from 'level';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { syncedBatch } from '../../packages/raft/src/storage/level-storage';
import { percentile, progress } from '../support/stats';

type Op = { type: 'put'; key: string; value: Uint8Array };
type Form = (db: Level<string, Uint8Array>, ops: readonly Op[]) => Promise<void>;

const FORMS: Record<string, Form> = {
  array: (db, ops) => db.batch(ops as Op[], { sync: true }),
  chained: syncedBatch,
};
const ENTRY_COUNTS = [1, 8, 32];
const ENTRY_BYTES = 200;

const rounds = Number(process.argv[2] ?? 5);
const saves = Number(process.argv[3] ?? 1000);
if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(saves) || saves < 10) {
  console.error('usage: node -r @swc-node/register bench/storage/batch-forms.ts [ROUNDS ≥ 1] [SAVES ≥ 10]');
  process.exit(2);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'batch-forms-'));
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  const value = new Uint8Array(ENTRY_BYTES).fill(7);
  const hardState = new Uint8Array(30).fill(3);
  let next = 0;
  // syncUs[form][entries] and wholeMs[form][entries]: one figure per round.
  const syncUs: Record<string, Record<number, number[]>> = {};
  const wholeMs: Record<string, Record<number, number[]>> = {};
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? Object.keys(FORMS) : Object.keys(FORMS).reverse();
      for (const name of order) {
        for (const entries of ENTRY_COUNTS) {
          let sync = 0;
          let whole = 0;
          for (let i = 0; i < saves; i++) {
            const ops: Op[] = [];
            for (let k = 0; k < entries; k++) {
              ops.push({ type: 'put', key: `e${(next++).toString(16).padStart(16, '0')}`, value });
            }
            ops.push({ type: 'put', key: 'hs', value: hardState });
            const started = performance.now();
            const saving = FORMS[name]!(db, ops);
            sync += performance.now() - started;
            await saving;
            whole += performance.now() - started;
          }
          ((syncUs[name] ??= {})[entries] ??= []).push((sync / saves) * 1000);
          ((wholeMs[name] ??= {})[entries] ??= []).push(whole / saves);
        }
      }
      progress(`round ${round + 1}/${rounds} done`);
    }
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const figures = ENTRY_COUNTS.map((entries) => {
    const median = (xs: number[]): number => Math.round(percentile(xs, 50) * 1000) / 1000;
    const row = {
      entries,
      arraySyncUs: median(syncUs['array']![entries]!),
      chainedSyncUs: median(syncUs['chained']![entries]!),
      arrayWholeMs: median(wholeMs['array']![entries]!),
      chainedWholeMs: median(wholeMs['chained']![entries]!),
    };
    return { ...row, syncRatio: Math.round((row.chainedSyncUs / row.arraySyncUs) * 100) / 100 };
  });
  const out = join(__dirname, '../results/batch-forms.json');
  mkdirSync(join(__dirname, '../results'), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        bench: 'batch-forms',
        machine: { cpus: cpus().length, node: process.version },
        rounds,
        saves,
        figures,
      },
      null,
      2,
    ) + '\n',
  );
  for (const f of figures) {
    console.log(
      `${f.entries} entries + hard state: until the promise ${f.arraySyncUs} → ${f.chainedSyncUs} µs (${f.syncRatio}×), ` +
        `whole save ${f.arrayWholeMs} → ${f.chainedWholeMs} ms`,
    );
  }
  console.log(`written ${out}`);
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
