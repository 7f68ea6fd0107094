import { Buffer } from 'node:buffer';
import type { LeadershipErrorCode } from '@omnirelay/leadership-fsm';
import {
  COMMAND_BYTES_MAX,
  CORRELATION_ID_BYTES_MAX,
  LEASE_TTL_MS_MAX,
  LEASE_TTL_MS_MIN,
  METADATA_BYTES_MAX,
  PRIORITY_MAX,
  QUEUE_LENGTH_MAX,
  RENEW_BATCH_MAX,
  EXPIRE_BATCH_MAX,
  SCOPE_NAME_BYTES_MAX,
  SESSION_ID_BYTES_MAX,
  decodeCommand,
  encodeCommand,
} from '@omnirelay/leadership-fsm';
import { Driver, noopTwinSnapshot } from './helpers/driver';
import { packRaw } from './helpers/random-log';

/** A state with a holder `a` of scope `x` (fence 1) and a waiter `b`, at index 2. */
function seeded(): Driver {
  const d = new Driver();
  d.acquireIn('x', 'a', 's1');
  d.apply({
    type: 'campaign',
    scope: 'x',
    candidateId: 'b',
    sessionId: 's1',
    metadata: '',
    leaseTtlMs: 1_000,
    priority: 0,
  });
  return d;
}

const base = { correlationId: 'bad-1' };
const acquire = { ...base, type: 'acquire', scope: 'x', candidateId: 'c', metadata: '', leaseTtlMs: 1_000 };
const campaign = { ...acquire, type: 'campaign', priority: 0 };

/** Each bad input kind: the bytes (or command) and the code its refusal must carry. */
const badInputs: ReadonlyArray<readonly [string, Uint8Array | Record<string, unknown>, LeadershipErrorCode]> =
  [
    ['empty bytes', new Uint8Array(0), 'MALFORMED_COMMAND'],
    ['bytes that are not msgpack', new Uint8Array([0xc1, 0x00]), 'MALFORMED_COMMAND'],
    ['a truncated command', packRaw(acquire).subarray(0, 10), 'MALFORMED_COMMAND'],
    ['a msgpack value that is not a map', packRaw([1, 2, 3]), 'MALFORMED_COMMAND'],
    ['a command with no type', { ...base, scope: 'x' }, 'MALFORMED_COMMAND'],
    ['an unknown command type', { ...base, type: 'elect-me' }, 'UNKNOWN_COMMAND'],
    ['an unknown field', { ...acquire, force: true }, 'MALFORMED_COMMAND'],
    ['a field of the wrong type', { ...acquire, leaseTtlMs: '1000' }, 'MALFORMED_COMMAND'],
    ['a missing correlation id', { ...acquire, correlationId: undefined }, 'MALFORMED_COMMAND'],
    [
      'an oversized correlation id',
      { ...acquire, correlationId: 'c'.repeat(CORRELATION_ID_BYTES_MAX + 1) },
      'INVALID_ARGUMENT',
    ],
    ['an invalid scope name', { ...acquire, scope: 'Shard//x/' }, 'INVALID_SCOPE'],
    ['an overlong scope name', { ...acquire, scope: 'a'.repeat(SCOPE_NAME_BYTES_MAX + 1) }, 'INVALID_SCOPE'],
    ['a shard scope without a shard id', { ...acquire, scope: 'shard/ns' }, 'INVALID_SCOPE'],
    ['an invalid candidate id', { ...acquire, candidateId: 'has space' }, 'INVALID_ARGUMENT'],
    ['an empty candidate id', { ...acquire, candidateId: '' }, 'INVALID_ARGUMENT'],
    ['an empty session id', { ...acquire, sessionId: '' }, 'INVALID_ARGUMENT'],
    ['a session id with a space', { ...campaign, sessionId: 's 1' }, 'INVALID_ARGUMENT'],
    [
      'an overlong session id',
      { ...acquire, sessionId: 's'.repeat(SESSION_ID_BYTES_MAX + 1) },
      'INVALID_ARGUMENT',
    ],
    ['a session id that is not a string', { ...acquire, sessionId: 7 }, 'MALFORMED_COMMAND'],
    [
      'the holder candidate in another session',
      { ...acquire, candidateId: 'a', sessionId: 's2' },
      'HELD_BY_OTHER_SESSION',
    ],
    [
      'a waiting candidate in another session',
      { ...campaign, candidateId: 'b', sessionId: 's2' },
      'HELD_BY_OTHER_SESSION',
    ],
    [
      'a withdraw naming another session',
      { ...base, type: 'withdraw', scope: 'x', candidateId: 'b', sessionId: 's2' },
      'NOT_WAITING',
    ],
    [
      'oversized metadata',
      { ...acquire, metadata: 'é'.repeat(METADATA_BYTES_MAX / 2 + 1) },
      'METADATA_TOO_LARGE',
    ],
    ['a TTL below the minimum', { ...acquire, leaseTtlMs: LEASE_TTL_MS_MIN - 1 }, 'TTL_OUT_OF_RANGE'],
    ['a TTL above the maximum', { ...acquire, leaseTtlMs: LEASE_TTL_MS_MAX + 1 }, 'TTL_OUT_OF_RANGE'],
    ['a fractional TTL', { ...acquire, leaseTtlMs: 1000.5 }, 'MALFORMED_COMMAND'],
    ['a priority out of range', { ...campaign, priority: PRIORITY_MAX + 1 }, 'INVALID_ARGUMENT'],
    ['a resign with a wrong fence', { ...base, type: 'resign', scope: 'x', fenceToken: 2n }, 'STALE_FENCE'],
    ['a resign of a vacant scope', { ...base, type: 'resign', scope: 'y', fenceToken: 1n }, 'STALE_FENCE'],
    [
      'a resign with a zero fence',
      { ...base, type: 'resign', scope: 'x', fenceToken: 0n },
      'INVALID_ARGUMENT',
    ],
    [
      'a resign with a number fence',
      { ...base, type: 'resign', scope: 'x', fenceToken: 1 },
      'MALFORMED_COMMAND',
    ],
    [
      'a withdraw of a candidate not waiting',
      { ...base, type: 'withdraw', scope: 'x', candidateId: 'a' },
      'NOT_WAITING',
    ],
    ['an empty renew batch', { ...base, type: 'renew', leases: [] }, 'BATCH_TOO_LARGE'],
    [
      'a renew batch over the bound',
      {
        ...base,
        type: 'renew',
        leases: Array.from({ length: RENEW_BATCH_MAX + 1 }, () => ({ scope: 'x', fenceToken: 1n })),
      },
      'BATCH_TOO_LARGE',
    ],
    [
      'an expire batch over the bound',
      {
        ...base,
        type: 'expire',
        leases: Array.from({ length: EXPIRE_BATCH_MAX + 1 }, () => ({ scope: 'x', fenceToken: 1n })),
      },
      'BATCH_TOO_LARGE',
    ],
    [
      'a renew entry of the wrong shape',
      { ...base, type: 'renew', leases: [{ scope: 'x' }] },
      'MALFORMED_COMMAND',
    ],
    [
      'a renewed lease with a field more',
      { ...base, type: 'renew', leases: [{ scope: 'x', fenceToken: 1n, holder: 'a' }] },
      'MALFORMED_COMMAND',
    ],
    [
      'a renewed lease with a number fence',
      { ...base, type: 'renew', leases: [{ scope: 'x', fenceToken: 1 }] },
      'MALFORMED_COMMAND',
    ],
    [
      'a renewed lease with a fence in place of its scope',
      { ...base, type: 'renew', leases: [{ fenceToken: 1n, scope: 1n }] },
      'MALFORMED_COMMAND',
    ],
    ['a renewed lease that is a list', { ...base, type: 'renew', leases: [['x', 1n]] }, 'MALFORMED_COMMAND'],
    ['an expired lease that is not a map', { ...base, type: 'expire', leases: ['x'] }, 'MALFORMED_COMMAND'],
    ['a step-down of a vacant scope', { ...base, type: 'stepDown', scope: 'y' }, 'NOT_HOLDER'],
    [
      'a step-down with a wrong fence',
      { ...base, type: 'stepDown', scope: 'x', fenceToken: 7n },
      'STALE_FENCE',
    ],
    [
      'a step-down to a successor that is not waiting',
      { ...base, type: 'stepDown', scope: 'x', successor: { kind: 'waiting', candidateId: 'z' } },
      'NOT_WAITING',
    ],
    [
      'a step-down to the holder itself',
      {
        ...base,
        type: 'stepDown',
        scope: 'x',
        successor: { kind: 'explicit', candidateId: 'a', metadata: '', leaseTtlMs: 1_000 },
      },
      'INVALID_ARGUMENT',
    ],
    [
      'a step-down successor of an unknown kind',
      { ...base, type: 'stepDown', scope: 'x', successor: { kind: 'anyone', candidateId: 'z' } },
      'MALFORMED_COMMAND',
    ],
    [
      'a grace that took office after the entry',
      { ...base, type: 'grace', tookOfficeStampMs: 5_000, graceMs: 1 },
      'INVALID_ARGUMENT',
    ],
    [
      'a grace longer than the bound',
      { ...base, type: 'grace', tookOfficeStampMs: 0, graceMs: 10_000_000 },
      'INVALID_ARGUMENT',
    ],
    [
      'a command over the size bound',
      { ...acquire, metadata: 'm'.repeat(COMMAND_BYTES_MAX) },
      'COMMAND_TOO_LARGE',
    ],
  ];

describe('bad commands', () => {
  it.each(badInputs)('refuses %s with a typed error and changes nothing', (_title, input, code) => {
    const d = seeded();
    const before = d.fsm.snapshot();
    const result = d.applyBytes(input instanceof Uint8Array ? input : packRaw(input));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe(code);
    expect(!result.ok && result.error.message.length).toBeGreaterThan(10);
    expect(result.events).toEqual([]);
    const entry = d.log[d.log.length - 1]!;
    expect(Buffer.from(d.fsm.snapshot())).toEqual(Buffer.from(noopTwinSnapshot(before, entry)));
  });

  it('refuses a campaign into a full queue with QUEUE_FULL and changes nothing', () => {
    const d = seeded();
    for (let i = 1; i < QUEUE_LENGTH_MAX; i++) {
      d.apply({
        type: 'campaign',
        scope: 'x',
        candidateId: `w${i}`,
        metadata: '',
        leaseTtlMs: 1_000,
        priority: i % 7,
      });
    }
    expect(d.fsm.getScope('x')?.waiting).toHaveLength(QUEUE_LENGTH_MAX);
    const before = d.fsm.snapshot();
    const result = d.apply({
      type: 'campaign',
      scope: 'x',
      candidateId: 'late',
      metadata: '',
      leaseTtlMs: 1_000,
      priority: 99,
    });
    expect(!result.ok && result.error).toMatchObject({
      code: 'QUEUE_FULL',
      scope: 'x',
      limit: QUEUE_LENGTH_MAX,
    });
    expect(Buffer.from(d.fsm.snapshot())).toEqual(
      Buffer.from(noopTwinSnapshot(before, d.log[d.log.length - 1]!)),
    );
  });

  it('names the current fence when refusing a stale one', () => {
    const d = seeded();
    const result = d.apply({ type: 'resign', scope: 'x', fenceToken: 2n });
    expect(!result.ok && result.error).toMatchObject({
      code: 'STALE_FENCE',
      scope: 'x',
      fenceToken: 2n,
      currentFenceToken: 1n,
    });
  });

  it('reports bad leases of a renew batch one by one and renews the rest', () => {
    const d = seeded();
    d.nowMs += 300;
    const result = d.apply({
      type: 'renew',
      leases: [
        { scope: 'x', fenceToken: 2n },
        { scope: 'Nope', fenceToken: 1n },
        { scope: 'x', fenceToken: 1n },
        { scope: 'y', fenceToken: 0n },
      ],
    });
    expect(result.ok && result.outcome).toEqual({
      type: 'renew',
      renewedCount: 1,
      leases: [
        { scope: 'x', fenceToken: 2n, renewed: false, code: 'STALE_FENCE', currentFenceToken: 1n },
        { scope: 'Nope', fenceToken: 1n, renewed: false, code: 'INVALID_SCOPE', currentFenceToken: null },
        { scope: 'x', fenceToken: 1n, renewed: true, deadlineMs: d.nowMs + 1_000 },
        { scope: 'y', fenceToken: 0n, renewed: false, code: 'INVALID_ARGUMENT', currentFenceToken: null },
      ],
    });
  });
});

describe('client sessions in commands', () => {
  it('encodes a command without a session id to the bytes it had before sessions existed', () => {
    const legacy = packRaw({
      type: 'acquire',
      correlationId: 'c1',
      scope: 'x',
      candidateId: 'a',
      metadata: '',
      leaseTtlMs: 1_000,
    });
    const command = decodeCommand(legacy);
    expect(command).not.toHaveProperty('sessionId');
    expect(Buffer.from(encodeCommand(command))).toEqual(Buffer.from(legacy));
  });

  it('keeps a session id through encode and decode, after the candidate id', () => {
    const command = {
      type: 'campaign',
      correlationId: 'c1',
      scope: 'x',
      candidateId: 'a',
      sessionId: 'f3a9c1d2e4b5a6978877665544332211',
      metadata: '',
      leaseTtlMs: 1_000,
      priority: 0,
    } as const;
    const decoded = decodeCommand(encodeCommand(command));
    expect(decoded).toEqual(command);
    expect(Object.keys(decoded)).toEqual(Object.keys(command));
  });
});
