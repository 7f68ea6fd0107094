/**
 * open-child opens a LevelStorage in another process, for the tests that need one: a store held
 * open by another process (`hold`: prints `opened`, then keeps the store open until its stdin
 * closes or it is killed), or a store opened by another user (the test starts it with `uid`/`gid`).
 * A failure prints `failed <code>` and the message on the next line.
 *
 * Usage: node -r @swc-node/register open-child.ts <dataDir> once|hold
 */
import { LevelStorage, isStorageError } from '../../src/storage/index';

async function main(): Promise<void> {
  const [dataDir, mode] = process.argv.slice(2);
  if (dataDir === undefined || (mode !== 'once' && mode !== 'hold')) {
    throw new Error('usage: open-child <dataDir> once|hold');
  }
  let store: LevelStorage;
  try {
    store = await LevelStorage.open(dataDir, { bootstrap: { voters: ['n1'], learners: [] } });
  } catch (e) {
    const code = isStorageError(e) ? e.code : 'UNKNOWN';
    process.stdout.write(`failed ${code}\n${e instanceof Error ? e.message : String(e)}\n`);
    return;
  }
  process.stdout.write('opened\n');
  if (mode === 'hold') {
    process.stdin.resume();
    await new Promise<void>((resolve) => process.stdin.once('end', resolve));
  }
  await store.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
