import { OmniRelayError } from './errors';

/** FenceGuardOptions configures a FenceGuard. */
export interface FenceGuardOptions {
  /** initial is the highest fence already seen per scope (e.g. loaded from your store at start-up). */
  readonly initial?: Readonly<Record<string, bigint>> | ReadonlyMap<string, bigint>;
  /**
   * persist records a new highest fence of a scope before the write it guards goes ahead; it is
   * called synchronously and only when the fence advances. If it throws, the write is rejected
   * and the guard does not advance (so a restart never forgets a fence it acted on).
   */
  readonly persist?: (scope: string, fence: bigint) => void;
}

/**
 * FenceGuard protects a downstream resource (a file store, a database table, a queue) from
 * stale leaders with no round trip to the cluster: it remembers the highest fence token seen per
 * scope and rejects any write that carries a lower one. Writes with the current highest fence
 * (the same holder, again) pass; a higher fence means a newer holder, which from then on shuts
 * the older one out. Put one guard in front of each resource, in the resource's process.
 */
export class FenceGuard {
  private readonly highest = new Map<string, bigint>();
  private readonly persist: ((scope: string, fence: bigint) => void) | undefined;

  constructor(options: FenceGuardOptions = {}) {
    const initial = options.initial;
    if (initial !== undefined) {
      const entries = initial instanceof Map ? [...initial.entries()] : Object.entries(initial);
      for (const [scope, fence] of entries as [string, bigint][]) this.highest.set(scope, checkFence(fence));
    }
    this.persist = options.persist;
  }

  /** check says whether a write with `fence` on `scope` would be admitted (it changes nothing). */
  check(scope: string, fence: bigint): boolean {
    return checkFence(fence) >= (this.highest.get(scope) ?? 0n);
  }

  /**
   * admit lets a write with `fence` on `scope` through, or throws OmniRelayError STALE_FENCE
   * (with the highest fence seen as currentFenceToken) when a newer holder has written already.
   */
  admit(scope: string, fence: bigint): void {
    const current = this.highest.get(scope) ?? 0n;
    if (checkFence(fence) < current) {
      throw new OmniRelayError(
        'STALE_FENCE',
        `write to ${scope} with fence ${fence} rejected: a newer holder wrote with fence ${current}; the writer is no longer the leader and must stop`,
        { currentFenceToken: current },
      );
    }
    if (fence > current) {
      this.persist?.(scope, fence);
      this.highest.set(scope, fence);
    }
  }

  /** highestFence is the highest fence admitted for `scope` (0n when none). */
  highestFence(scope: string): bigint {
    return this.highest.get(scope) ?? 0n;
  }
}

function checkFence(fence: bigint): bigint {
  if (typeof fence !== 'bigint' || fence < 1n) {
    throw new OmniRelayError('INVALID_ARGUMENT', `a fence token is a bigint ≥ 1 (got ${String(fence)})`);
  }
  return fence;
}
