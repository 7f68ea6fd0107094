/**
 * crash-child appends to a LevelStorage as fast as it can and prints `acked <index> <term>`
 * after each save resolves (that is, after the synced batch is durable). The crash test kills it
 * with SIGKILL at random moments. It mixes in suffix overwrites (a follower's truncation) and
 * compactions (each snapshot in several chunks), so those paths are crashed too. Every entry's
 * bytes are a function of (index, term), and every snapshot's of its index, so the parent can
 * check content after a reopen.
 *
 * Usage: node -r @swc-node/register crash-child.ts <dataDir> <seed>
 */
import type { Entry } from '../../src/core/index';
import { Mulberry32 } from '../../src/core/index';
import { LevelStorage } from '../../src/storage/index';
import { CRASH_CHUNK_BYTES, entryBytes, snapshotBytes } from './crash-entry';

async function main(): Promise<void> {
  const [dataDir, seedText] = process.argv.slice(2);
  if (dataDir === undefined || seedText === undefined) throw new Error('usage: crash-child <dataDir> <seed>');
  const rng = new Mulberry32(Number(seedText));
  const store = await LevelStorage.open(dataDir, {
    bootstrap: { voters: ['n1'], learners: [] },
    snapshotChunkBytes: CRASH_CHUNK_BYTES,
  });
  const mirror = store.mirror;
  let term = Math.max(1, mirror.initialHardState().term);
  process.stdout.write(`opened ${mirror.lastIndex()}\n`);
  for (let batchNo = 0; batchNo < 100_000; batchNo++) {
    const roll = rng.intBelow(100);
    let from = mirror.lastIndex() + 1;
    if (roll < 10 && mirror.lastIndex() - mirror.firstIndex() > 5) {
      // Overwrite the last few entries under a newer term, as a follower does on a conflict.
      term++;
      from = mirror.lastIndex() - rng.intBelow(4);
    } else if (roll < 15 && mirror.lastIndex() > mirror.firstIndex() + 10) {
      const index = mirror.lastIndex() - 5;
      await store.compact(
        { index, term: mirror.term(index)!, membership: mirror.snapshot().meta.membership },
        snapshotBytes(index),
      );
      process.stdout.write(`compacted ${index}\n`);
      continue;
    }
    const count = 1 + rng.intBelow(50);
    const entries: Entry[] = [];
    for (let i = 0; i < count; i++)
      entries.push({ kind: 'command', index: from + i, term, data: entryBytes(from + i, term) });
    await store.save({ hardState: { term, vote: 'n1', commit: 0 }, entries, snapshot: undefined });
    process.stdout.write(`acked ${from + count - 1} ${term}\n`);
  }
  await store.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`crash-child failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
