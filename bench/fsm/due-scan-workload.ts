/**
 * due-scan-workload is the leader's expiry-scan workload at 100,000 leases, shared by fsm-bench
 * (through the state machine) and deadline-index-ab (the index alone), so both measure the same
 * thing: every DUE_STEP_MS the leases due for renewal renew (each every DUE_RENEW_EVERY_MS, the
 * SDK's (TTL − skew) / 3, spread evenly, in a fixed shuffled order: an entry lists leases of many
 * clients, not a run of neighbouring scopes, so their slots lie apart in the index as on a
 * leader), then COLD_BYTES are swept, as a busy leader's other work evicts the index from the
 * CPU's caches, and the scan runs.
 */

/** DUE_STEP_MS is the time between two scans (and two renew batches). */
export const DUE_STEP_MS = 10;
/** DUE_RENEW_EVERY_MS is how often each lease renews. */
export const DUE_RENEW_EVERY_MS = 3_250;
/** COLD_BYTES is how much memory is swept before each scan. */
export const COLD_BYTES = 32 * 2 ** 20;

/** DueScanStep is one step: its time from the workload's start and the leases (by number) renewed in it. */
export interface DueScanStep {
  readonly tMs: number;
  readonly renewed: readonly number[];
}

/** dueScanSteps yields the steps of `durationMs` of the workload over `leases` leases. */
export function* dueScanSteps(leases: number, durationMs: number): Generator<DueScanStep> {
  const order = Array.from({ length: leases }, (_, i) => i);
  let seed = 7;
  for (let i = leases - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const perStep = Math.ceil((leases * DUE_STEP_MS) / DUE_RENEW_EVERY_MS);
  let next = 0;
  for (let tMs = DUE_STEP_MS; tMs < durationMs; tMs += DUE_STEP_MS) {
    const renewed: number[] = [];
    for (let k = 0; k < perStep; k++) renewed.push(order[(next + k) % leases]!);
    next = (next + perStep) % leases;
    yield { tMs, renewed };
  }
}

/** ColdSweep evicts the CPU's caches before a scan by writing COLD_BYTES. */
export class ColdSweep {
  private readonly cold = new Float64Array(COLD_BYTES / 8);

  sweep(): void {
    const cold = this.cold;
    for (let i = 0; i < cold.length; i += 8) cold[i]! += 1;
  }
}
