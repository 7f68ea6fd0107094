import type { Entry, Message, Ready } from '../../src/core/index';
import type { MemoryStorage, RaftCore } from '../../src/core/index';

/** cmd is a command entry at (`index`, `term`) whose data names both. */
export const cmd = (index: number, term: number): Entry => ({
  kind: 'command',
  index,
  term,
  data: Buffer.from(`${index}@${term}`),
});

/**
 * persist completes a Ready the way the runtime does: storage first (hard state, snapshot,
 * entries), then advance().
 */
export function persist(core: RaftCore, storage: MemoryStorage, rd: Ready): void {
  if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
  if (rd.snapshot !== undefined) storage.installSnapshot(rd.snapshot);
  storage.append(rd.entries);
  core.advance();
}

/** SETTLE_READIES_MAX bounds how many Readys settle takes in a row. */
const SETTLE_READIES_MAX = 20;

/** settle takes and completes every Ready (at most SETTLE_READIES_MAX); it returns the messages they carried. */
export function settle(core: RaftCore, storage: MemoryStorage): Message[] {
  const sent: Message[] = [];
  for (let i = 0; i < SETTLE_READIES_MAX && core.hasReady(); i++) {
    const rd = core.ready();
    sent.push(...rd.earlyMessages, ...rd.messages);
    persist(core, storage, rd);
  }
  return sent;
}
