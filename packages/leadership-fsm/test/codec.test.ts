import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import type { Command } from '@omnirelay/leadership-fsm';
import { decodeCommand, encodeCommand, isLeadershipError } from '@omnirelay/leadership-fsm';
import { packRaw } from './helpers/random-log';

const commands: Command[] = [
  {
    type: 'acquire',
    correlationId: 'r1',
    scope: 'global-control',
    candidateId: 'node-1',
    metadata: '{"a":1}',
    leaseTtlMs: 5_000,
  },
  {
    type: 'campaign',
    correlationId: 'r2',
    scope: 'shard/ns/7',
    candidateId: 'n2',
    metadata: '',
    leaseTtlMs: 500,
    priority: -3,
  },
  { type: 'withdraw', correlationId: 'r3', scope: 'shard/ns/7', candidateId: 'n2' },
  { type: 'resign', correlationId: 'r4', scope: 'x', fenceToken: (1n << 64n) - 1n },
  { type: 'renew', correlationId: 'r5', leases: [{ scope: 'x', fenceToken: 9n }] },
  { type: 'expire', correlationId: 'r6', leases: [{ scope: 'x', fenceToken: 9n }] },
  { type: 'stepDown', correlationId: 'r7', scope: 'x' },
  {
    type: 'stepDown',
    correlationId: 'r8',
    scope: 'x',
    fenceToken: 3n,
    successor: { kind: 'explicit', candidateId: 'z', metadata: 'm', leaseTtlMs: 900 },
  },
  { type: 'stepDown', correlationId: 'r9', scope: 'x', successor: { kind: 'waiting', candidateId: 'w' } },
  { type: 'grace', correlationId: 'r10', tookOfficeStampMs: 1_700_000_000_000, graceMs: 3_000 },
];

describe('encodeCommand and decodeCommand', () => {
  it.each(commands.map((c) => [c.type, c] as const))('round-trips a %s command', (_type, command) => {
    expect(decodeCommand(encodeCommand(command))).toEqual(command);
  });

  it('gives one encoding per command whatever the order of its fields', () => {
    const shuffled = {
      leaseTtlMs: 5_000,
      metadata: '',
      candidateId: 'a',
      scope: 'x',
      correlationId: 'r',
      type: 'acquire',
    };
    const ordered: Command = {
      type: 'acquire',
      correlationId: 'r',
      scope: 'x',
      candidateId: 'a',
      metadata: '',
      leaseTtlMs: 5_000,
    };
    expect(Buffer.from(encodeCommand(shuffled as Command))).toEqual(Buffer.from(encodeCommand(ordered)));
  });

  it('refuses to encode a bad command with a typed error', () => {
    let caught: unknown;
    try {
      encodeCommand({
        type: 'acquire',
        correlationId: 'r',
        scope: 'UPPER',
        candidateId: 'a',
        metadata: '',
        leaseTtlMs: 5_000,
      });
    } catch (e: unknown) {
      caught = e;
    }
    expect(isLeadershipError(caught, 'INVALID_SCOPE')).toBe(true);
    expect((caught as Error).message).toContain('a first character from [a-z0-9]');
  });

  it('turns any byte string into a command or a LeadershipError, never another exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.anything().map((v) => packRaw(v)),
        ),
        (bytes) => {
          try {
            decodeCommand(bytes);
          } catch (e: unknown) {
            expect(isLeadershipError(e)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
