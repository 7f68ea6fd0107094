import type { LeaseRef } from '@omnirelay/leadership-fsm';
import { leaseRefBytesMax } from '@omnirelay/leadership-fsm';
import { pino } from 'pino';
import { ServerError } from '../../src/index';
import type { LeaseBatchRefusal } from '../../src/leadership/lease-batches';
import { chunkLeases, isContentRefusal, proposeSplitting } from '../../src/leadership/lease-batches';

const lease = (i: number): LeaseRef => ({ scope: `l/${i}`, fenceToken: BigInt(i + 1) });

describe('chunkLeases', () => {
  it('cuts a list in order by count and by bytes, and gives an oversized lease a run of its own', () => {
    const leases = [lease(1), lease(2), lease(3), { scope: 'x'.repeat(100), fenceToken: 1n }, lease(4)];
    const chunks = chunkLeases(leases, 2, 2 * leaseRefBytesMax(lease(1)));
    expect(chunks.map((c) => c.map((l) => l.scope.slice(0, 3)))).toEqual([
      ['l/1', 'l/2'],
      ['l/3'],
      ['xxx'],
      ['l/4'],
    ]);
  });
});

describe('proposeSplitting', () => {
  const logger = pino({ level: 'silent' });

  it('splits a batch refused for its content down to the bad lease and answers every other lease', async () => {
    const refusals: LeaseBatchRefusal[] = [];
    const proposed: number[] = [];
    const leases = Array.from({ length: 8 }, (_, i) => lease(i));
    const { answers, isolated } = await proposeSplitting(
      'expire',
      leases,
      (part) => {
        proposed.push(part.length);
        return part.some((l) => l.scope === 'l/5')
          ? Promise.reject(new ServerError('PAYLOAD_TOO_LARGE', 'too large'))
          : Promise.resolve(part.map((l) => l.scope));
      },
      { logger, onRefused: (_command, refusal) => void refusals.push(refusal) },
    );
    expect(answers.sort()).toEqual(leases.filter((l) => l.scope !== 'l/5').map((l) => l.scope));
    expect(isolated.map((i) => [i.lease.scope, i.error.code])).toEqual([['l/5', 'PAYLOAD_TOO_LARGE']]);
    expect(refusals).toEqual(['split', 'split', 'split', 'isolated']);
    expect(proposed).toEqual([8, 4, 4, 2, 1, 1, 2]);
  });

  it('throws a failure that is not about the content at once, without splitting', async () => {
    let calls = 0;
    const failure = proposeSplitting(
      'renew',
      [lease(1), lease(2)],
      () => {
        calls++;
        return Promise.reject(new ServerError('NO_QUORUM', 'no quorum'));
      },
      { logger, onRefused: () => undefined },
    );
    await expect(failure).rejects.toMatchObject({ code: 'NO_QUORUM' });
    expect(calls).toBe(1);
  });

  it('tells content refusals from refusals about the cluster', () => {
    expect(isContentRefusal(new ServerError('BATCH_TOO_LARGE', 'x'))).toBe(true);
    expect(isContentRefusal(new ServerError('INVALID_SCOPE', 'x'))).toBe(true);
    expect(isContentRefusal(new ServerError('BACKPRESSURE', 'x'))).toBe(false);
    expect(isContentRefusal(new Error('INVALID_ARGUMENT'))).toBe(false);
  });
});
