import type { LeaseRef } from '@omnirelay/leadership-fsm';
import {
  COMMAND_BYTES_MAX,
  CORRELATION_ID_BYTES_MAX,
  FENCE_TOKEN_MAX,
  LEASE_BATCH_BYTES_MAX,
  RENEW_BATCH_MAX,
  SCOPE_NAME_BYTES_MAX,
  decodeCommand,
  encodeCommand,
  isLeadershipError,
  leaseListBytesMax,
  leaseRefBytesMax,
} from '@omnirelay/leadership-fsm';
import { packValue } from '../src/codec';

/** longScope is a valid scope name of exactly SCOPE_NAME_BYTES_MAX bytes, distinct per `i`. */
function longScope(i: number): string {
  const suffix = `/${i}`;
  return 'a'.repeat(SCOPE_NAME_BYTES_MAX - suffix.length) + suffix;
}

/** listedBytes is what `lease` adds to an encoded renew command's lease list. */
function listedBytes(lease: LeaseRef): number {
  const one = packValue({ type: 'renew', correlationId: 'c', leases: [lease] }).length;
  const two = packValue({ type: 'renew', correlationId: 'c', leases: [lease, lease] }).length;
  return two - one;
}

describe('leaseRefBytesMax', () => {
  it.each([0, 1, 31, 32, 255, 256, 65_535, 65_536, 70_000])(
    'is at least what a lease with a %i-byte scope name adds to a command',
    (n) => {
      for (const fenceToken of [1n, 300n, 1n << 40n, FENCE_TOKEN_MAX]) {
        const lease = { scope: 'a'.repeat(n), fenceToken };
        expect(leaseRefBytesMax(lease)).toBeGreaterThanOrEqual(listedBytes(lease));
      }
    },
  );

  it('counts a scope name in UTF-8 bytes, not characters', () => {
    const lease = { scope: 'ü'.repeat(100), fenceToken: 7n };
    expect(leaseRefBytesMax(lease)).toBeGreaterThanOrEqual(listedBytes(lease));
    expect(leaseRefBytesMax(lease)).toBeGreaterThanOrEqual(200);
  });
});

describe('LEASE_BATCH_BYTES_MAX', () => {
  it('is needed: 4,096 leases with 253-byte scope names encode to more than COMMAND_BYTES_MAX', () => {
    const leases = Array.from({ length: RENEW_BATCH_MAX }, (_, i) => ({
      scope: longScope(i),
      fenceToken: 1n,
    }));
    expect(packValue({ type: 'renew', correlationId: 'c', leases }).length).toBeGreaterThan(
      COMMAND_BYTES_MAX,
    );
  });

  it('leaves headroom below COMMAND_BYTES_MAX for the longest correlation id and an envelope', () => {
    const leases: LeaseRef[] = [];
    for (let i = 0; ; i++) {
      const lease = { scope: longScope(i), fenceToken: FENCE_TOKEN_MAX };
      if (leaseListBytesMax(leases) + leaseRefBytesMax(lease) > LEASE_BATCH_BYTES_MAX) break;
      leases.push(lease);
    }
    const bytes = encodeCommand({
      type: 'expire',
      correlationId: 'c'.repeat(CORRELATION_ID_BYTES_MAX),
      leases,
    });
    expect(COMMAND_BYTES_MAX - bytes.length).toBeGreaterThanOrEqual(64 * 1024);
  });

  it('refuses to encode a renew batch over the bound with BATCH_TOO_LARGE, naming the bound', () => {
    const leases = Array.from({ length: 3_500 }, (_, i) => ({ scope: longScope(i), fenceToken: 1n }));
    expect(leaseListBytesMax(leases)).toBeGreaterThan(LEASE_BATCH_BYTES_MAX);
    let caught: unknown;
    try {
      encodeCommand({ type: 'renew', correlationId: 'c', leases });
    } catch (e: unknown) {
      caught = e;
    }
    expect(isLeadershipError(caught, 'BATCH_TOO_LARGE')).toBe(true);
    expect((caught as Error).message).toContain(`at most ${LEASE_BATCH_BYTES_MAX} are allowed`);
  });

  it('still decodes a batch over the bound that fits COMMAND_BYTES_MAX (entries written before the bound)', () => {
    const leases = Array.from({ length: 3_500 }, (_, i) => ({ scope: longScope(i), fenceToken: 1n }));
    const bytes = packValue({ type: 'expire', correlationId: 'c', leases });
    expect(bytes.length).toBeLessThanOrEqual(COMMAND_BYTES_MAX);
    expect(decodeCommand(bytes)).toEqual({ type: 'expire', correlationId: 'c', leases });
  });
});
