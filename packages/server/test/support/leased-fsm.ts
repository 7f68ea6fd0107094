import { LeadershipFsm, encodeCommand } from '@omnirelay/leadership-fsm';

/**
 * leasedFsm is a state machine holding `count` scopes `s/<i>`, one acquire entry each (indexes 1
 * to `count`, stamp 1000, TTL 10 s): a large state for tests of snapshots and restores.
 */
export function leasedFsm(count: number): LeadershipFsm {
  const fsm = new LeadershipFsm();
  for (let i = 0; i < count; i++) {
    fsm.apply({
      index: i + 1,
      term: 1,
      stampMs: 1000,
      proposerId: 'n1',
      command: encodeCommand({
        type: 'acquire',
        correlationId: `c${i}`,
        scope: `s/${i}`,
        candidateId: 'w',
        metadata: '',
        leaseTtlMs: 10_000,
      }),
    });
  }
  return fsm;
}
