import type { RaftConfig } from '../../src/core/index';
import {
  MemoryStorage,
  Mulberry32,
  RAFT_CONFIG_DEFAULTS,
  RaftConfigError,
  validateRaftConfig,
} from '../../src/core/index';

function config(overrides: Partial<RaftConfig>): RaftConfig {
  return {
    ...RAFT_CONFIG_DEFAULTS,
    id: 'n1',
    storage: MemoryStorage.bootstrap({ voters: ['n1'], learners: [] }),
    rng: new Mulberry32(1),
    ...overrides,
  };
}

function errorOf(c: RaftConfig): unknown {
  try {
    validateRaftConfig(c);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('validateRaftConfig', () => {
  it('accepts the defaults', () => {
    expect(errorOf(config({}))).toBeUndefined();
  });

  it.each([
    ['electionTicks', { electionTicks: 1 }],
    ['electionTicks', { electionTicks: 2.5 }],
    ['heartbeatTicks', { electionTicks: 10, heartbeatTicks: 10 }],
    ['heartbeatTicks', { heartbeatTicks: 0 }],
    ['unreachableCampaignDelayTicksMax', { unreachableCampaignDelayTicksMax: 0 }],
    ['unreachableCampaignDelayTicksMax', { electionTicks: 10, unreachableCampaignDelayTicksMax: 11 }],
    ['inflightMessagesMax', { inflightMessagesMax: 0 }],
    ['messageBytesMax', { messageBytesMax: Number.NaN }],
    ['uncommittedEntriesMax', { uncommittedEntriesMax: -1 }],
    ['readIndexQueueMax', { readIndexQueueMax: 0 }],
    ['learnerCatchUpEntriesMax', { learnerCatchUpEntriesMax: -1 }],
    ['applied', { applied: -1 }],
  ] as const)('names %s when it is out of range', (name, overrides) => {
    const e = errorOf(config(overrides));
    expect(e).toBeInstanceOf(RaftConfigError);
    expect((e as Error).message).toContain(name);
  });

  it('names the id when it is empty', () => {
    const e = errorOf(config({ id: '' }));
    expect((e as Error).message).toContain('id');
  });
});
