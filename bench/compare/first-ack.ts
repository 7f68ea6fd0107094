/**
 * firstAck sends one write to each of `members` every `intervalMs` (each with its own deadline)
 * until one is acknowledged with a Raft term that `accept` takes, and returns when that happened.
 * Used by the crash (c) and transfer (d) workloads.
 */
import type { Target } from './target';
import { sleep } from './time';

/** FirstAckResult is the acknowledgement time (performance.now()) and what was sent. */
export interface FirstAckResult {
  readonly ackAt: number;
  readonly term: bigint;
  readonly member: string;
  readonly sent: number;
  readonly failed: number;
}

/** firstAck probes until an accepted acknowledgement, or throws after `overallMs`. */
export async function firstAck(
  target: Pick<Target, 'write'>,
  options: {
    readonly members: readonly string[];
    readonly keyPrefix: string;
    readonly intervalMs: number;
    readonly callDeadlineMs: number;
    readonly overallMs: number;
    readonly accept: (term: bigint) => boolean;
  },
): Promise<FirstAckResult> {
  const stopAt = performance.now() + options.overallMs;
  let done: FirstAckResult | undefined;
  let sent = 0;
  let failed = 0;
  const inflight: Array<Promise<void>> = [];
  const roundsMax = Math.ceil(options.overallMs / options.intervalMs) + 1;
  for (let round = 0; round < roundsMax && done === undefined && performance.now() < stopAt; round++) {
    for (const member of options.members) {
      const key = `${options.keyPrefix}/${sent++}`;
      inflight.push(
        target.write(member, key, options.callDeadlineMs).then(
          (term) => {
            const at = performance.now();
            if (done === undefined && options.accept(term)) {
              done = { ackAt: at, term, member, sent, failed };
            }
          },
          () => {
            failed++;
          },
        ),
      );
    }
    await sleep(options.intervalMs);
  }
  // Every write has its own deadline, so this wait is bounded by callDeadlineMs.
  await Promise.all(inflight);
  if (done === undefined) {
    throw new Error(`no accepted write within ${options.overallMs} ms (${sent} sent, ${failed} failed)`);
  }
  return done;
}
