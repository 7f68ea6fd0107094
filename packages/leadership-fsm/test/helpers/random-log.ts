import fc from 'fast-check';
import { Packr } from 'msgpackr';
import type { ApplyResult } from '@omnirelay/leadership-fsm';
import { LEASE_TTL_MS_MAX, LEASE_TTL_MS_MIN } from '@omnirelay/leadership-fsm';
import type { Driver } from './driver';

/**
 * Random command sequences for property and replay tests, good and bad alike. Commands are
 * packed raw (not through encodeCommand, which would refuse the bad ones), so every kind of bad
 * input reaches `apply`. Fences are symbolic and resolved against the state when applied, so
 * right fences are as common as wrong ones.
 */

const rawPackr = new Packr({ useRecords: false });

/** packRaw packs any value as msgpack, bypassing command validation. */
export function packRaw(value: unknown): Uint8Array {
  const bytes: Uint8Array = rawPackr.pack(value);
  return bytes;
}

/** SCOPES used by random logs; the last two are invalid names. */
export const SCOPES = ['global-control', 'shard/a/1', 's', 'Bad', 'shard/a'] as const;
const CANDIDATES = ['a', 'b', 'c', 'd', '-bad'] as const;
/** SESSIONS used by random logs: none (undefined), two sessions, and an invalid id last. */
const SESSIONS = [undefined, 's-1', 's-2', '-bad'] as const;
const TTLS = [LEASE_TTL_MS_MIN, 1_000, 3_000, 100, LEASE_TTL_MS_MAX + 1] as const;

/** FenceRef is a fence chosen relative to the state at apply time. */
export type FenceRef = 'current' | 'stale' | 'future' | bigint;

/** Step is one entry (or a clock move) of a random log. */
export type Step =
  | { readonly k: 'advance'; readonly ms: number }
  | {
      readonly k: 'acquire';
      readonly scope: string;
      readonly cand: string;
      readonly session: string | undefined;
      readonly ttl: number;
    }
  | {
      readonly k: 'campaign';
      readonly scope: string;
      readonly cand: string;
      readonly session: string | undefined;
      readonly ttl: number;
      readonly prio: number;
    }
  | {
      readonly k: 'withdraw';
      readonly scope: string;
      readonly cand: string;
      readonly session: string | undefined;
    }
  | { readonly k: 'resign'; readonly scope: string; readonly fence: FenceRef }
  | { readonly k: 'renew'; readonly refs: readonly { scope: string; fence: FenceRef }[] }
  | { readonly k: 'expire'; readonly refs: readonly { scope: string; fence: FenceRef }[] }
  | {
      readonly k: 'stepDown';
      readonly scope: string;
      readonly fence: FenceRef | null;
      readonly successor: { kind: 'waiting' | 'explicit'; cand: string } | null;
    }
  | {
      readonly k: 'grace';
      readonly tookBackMs: number;
      readonly graceMs: number;
      readonly capMs: number | null;
    }
  | { readonly k: 'noop'; readonly backMs: number }
  | { readonly k: 'garbage'; readonly bytes: Uint8Array }
  | { readonly k: 'unknown' };

/** Mostly valid values, sometimes a bad one, so sequences get far enough to promote and expire. */
function mostlyValid<T>(valid: readonly T[], invalid: readonly T[]): fc.Arbitrary<T> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...valid) },
    { weight: 1, arbitrary: fc.constantFrom(...invalid) },
  );
}
const scope = mostlyValid(SCOPES.slice(0, 3), SCOPES.slice(3));
const cand = mostlyValid(CANDIDATES.slice(0, 4), CANDIDATES.slice(4));
const session = mostlyValid<string | undefined>(SESSIONS.slice(0, 3), SESSIONS.slice(3));
const ttl = mostlyValid(TTLS.slice(0, 3), TTLS.slice(3));
const fence: fc.Arbitrary<FenceRef> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<FenceRef>('current') },
  { weight: 2, arbitrary: fc.constant<FenceRef>('stale') },
  { weight: 1, arbitrary: fc.constant<FenceRef>('future') },
  { weight: 1, arbitrary: fc.bigInt({ min: -1n, max: 40n }) },
);
const refs = fc.array(fc.record({ scope, fence }), { minLength: 0, maxLength: 4 });

/** stepArbitrary generates one Step, most often a valid command. */
export const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 4_000 }) }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('acquire' as const), scope, cand, session, ttl }) },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('campaign' as const),
      scope,
      cand,
      session,
      ttl,
      prio: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('withdraw' as const), scope, cand, session }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('resign' as const), scope, fence }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('renew' as const), refs }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('expire' as const), refs }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('stepDown' as const),
      scope,
      fence: fc.option(fence, { nil: null }),
      successor: fc.option(
        fc.record({ kind: fc.constantFrom('waiting' as const, 'explicit' as const), cand }),
        {
          nil: null,
        },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('grace' as const),
      tookBackMs: fc.integer({ min: -100, max: 2_000 }),
      graceMs: fc.integer({ min: 0, max: 5_000 }),
      // Without a cap (entries from before it existed) or with one, as a leader proposes today.
      capMs: fc.option(fc.integer({ min: 0, max: 2_000 }), { nil: null }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('noop' as const), backMs: fc.integer({ min: 0, max: 500 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('garbage' as const), bytes: fc.uint8Array({ maxLength: 12 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'unknown' as const }) },
);

/** logArbitrary generates a random log of up to `maxLength` steps. */
export function logArbitrary(maxLength = 40): fc.Arbitrary<Step[]> {
  return fc.array(stepArbitrary, { minLength: 1, maxLength, size: 'max' });
}

/** resolveFence turns a FenceRef into a token for `scope` given the driver's state and history. */
export function resolveFence(d: Driver, scopeName: string, ref: FenceRef): bigint {
  if (typeof ref === 'bigint') {
    return ref;
  }
  const valid = SCOPES.indexOf(scopeName as (typeof SCOPES)[number]) < 3;
  const current = valid ? d.fsm.getHolder(scopeName)?.fenceToken : undefined;
  switch (ref) {
    case 'current':
      return current ?? 1n;
    case 'future':
      return BigInt(d.index + 1);
    case 'stale': {
      const earlier = d.events.filter(
        (e) => e.scope === scopeName && e.holder !== null && e.holder.fenceToken !== current,
      );
      return earlier[0]?.holder?.fenceToken ?? 1n;
    }
  }
}

/** AppliedStep is what running one step did: the entry's result (null for a clock move or no-op). */
export interface AppliedStep {
  readonly result: ApplyResult | null;
  /** wrongFence is true when a resign/expire/step-down named a fence that is not the holder's. */
  readonly wrongFence: boolean;
}

/** sessionOf is the sessionId field of a command: absent when the step has none. */
function sessionOf(sessionId: string | undefined): { sessionId?: string } {
  return sessionId === undefined ? {} : { sessionId };
}

/** runStep applies `step` to the driver, resolving symbolic fences first. */
export function runStep(d: Driver, step: Step): AppliedStep {
  const correlationId = `c${d.index + 1}`;
  const holderFence = (s: string): bigint | undefined =>
    SCOPES.indexOf(s as (typeof SCOPES)[number]) < 3 ? d.fsm.getHolder(s)?.fenceToken : undefined;
  const raw = (command: object, stampMs?: number): ApplyResult =>
    d.applyBytes(packRaw({ type: (command as { type: string }).type, correlationId, ...command }), stampMs);
  switch (step.k) {
    case 'advance':
      d.nowMs += step.ms;
      return { result: null, wrongFence: false };
    case 'noop':
      d.noop(d.nowMs - step.backMs);
      return { result: null, wrongFence: false };
    case 'acquire':
      return {
        result: raw({
          type: 'acquire',
          scope: step.scope,
          candidateId: step.cand,
          ...sessionOf(step.session),
          metadata: '',
          leaseTtlMs: step.ttl,
        }),
        wrongFence: false,
      };
    case 'campaign':
      return {
        result: raw({
          type: 'campaign',
          scope: step.scope,
          candidateId: step.cand,
          ...sessionOf(step.session),
          metadata: 'm',
          leaseTtlMs: step.ttl,
          priority: step.prio,
        }),
        wrongFence: false,
      };
    case 'withdraw':
      return {
        result: raw({
          type: 'withdraw',
          scope: step.scope,
          candidateId: step.cand,
          ...sessionOf(step.session),
        }),
        wrongFence: false,
      };
    case 'resign': {
      const fenceToken = resolveFence(d, step.scope, step.fence);
      const wrongFence = holderFence(step.scope) !== fenceToken;
      return { result: raw({ type: 'resign', scope: step.scope, fenceToken }), wrongFence };
    }
    case 'renew':
    case 'expire': {
      const leases = step.refs.map((r) => ({
        scope: r.scope,
        fenceToken: resolveFence(d, r.scope, r.fence),
      }));
      const wrongFence = leases.every((l) => holderFence(l.scope) !== l.fenceToken);
      return { result: raw({ type: step.k, leases }), wrongFence: step.k === 'expire' && wrongFence };
    }
    case 'stepDown': {
      const fenceToken = step.fence === null ? undefined : resolveFence(d, step.scope, step.fence);
      const successor =
        step.successor === null
          ? undefined
          : step.successor.kind === 'waiting'
            ? { kind: 'waiting', candidateId: step.successor.cand }
            : { kind: 'explicit', candidateId: step.successor.cand, metadata: 'x', leaseTtlMs: 2_000 };
      const wrongFence = fenceToken !== undefined && holderFence(step.scope) !== fenceToken;
      return {
        result: raw({
          type: 'stepDown',
          scope: step.scope,
          ...(fenceToken === undefined ? {} : { fenceToken }),
          ...(successor === undefined ? {} : { successor }),
        }),
        wrongFence,
      };
    }
    case 'grace':
      return {
        result: raw({
          type: 'grace',
          tookOfficeStampMs: Math.max(0, d.nowMs - step.tookBackMs),
          graceMs: step.graceMs,
          ...(step.capMs === null ? {} : { capMs: step.capMs }),
        }),
        wrongFence: false,
      };
    case 'garbage':
      return { result: d.applyBytes(step.bytes), wrongFence: false };
    case 'unknown':
      return { result: raw({ type: 'elect-me' }), wrongFence: false };
  }
}
