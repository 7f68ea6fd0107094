/**
 * Workload (c): crash failover. SIGKILL the Raft leader, then every few ms send one write to each
 * survivor; the figure is the time from the kill to the first acknowledged write (necessarily
 * committed by a new leader). The member is restarted, allowed to catch up, and the cluster settles
 * before the next repetition.
 */
import { progress } from '../support/stats';
import { firstAck } from './first-ack';
import { summarizeMs } from './summary';
import type { SampleSummary } from './summary';
import type { Target } from './target';
import { sleep } from './time';

/** CRASH_ACK_MS_MAX bounds one repetition's wait for a write after the kill. */
const CRASH_ACK_MS_MAX = 15_000;
/** RESTART_MS_MAX bounds the restart and catch-up of the killed member. */
const RESTART_MS_MAX = 60_000;

/** CrashResult is (c) for one target in one run. */
export interface CrashResult {
  readonly repetitions: number;
  readonly failoverMs: SampleSummary;
  readonly failures: number;
  readonly firstError?: string;
  readonly details: ReadonlyArray<{ killed: string; ackedBy?: string; term?: string; ms?: number }>;
}

/** runCrash runs `repetitions` kill → first write → restart cycles. */
export async function runCrash(
  target: Target,
  options: {
    readonly repetitions: number;
    readonly probeIntervalMs: number;
    readonly probeDeadlineMs: number;
    readonly settleMs: number;
    readonly keyPrefix: string;
  },
): Promise<CrashResult> {
  const samples: number[] = [];
  const details: Array<{ killed: string; ackedBy?: string; term?: string; ms?: number }> = [];
  let failures = 0;
  let firstError: string | undefined;
  for (let rep = 0; rep < options.repetitions; rep++) {
    const leader = await target.leader(30_000);
    const survivors = target.members.filter((m) => m !== leader);
    const killedAt = performance.now();
    await target.kill(leader);
    try {
      const ack = await firstAck(target, {
        members: survivors,
        keyPrefix: `${options.keyPrefix}/${rep}`,
        intervalMs: options.probeIntervalMs,
        callDeadlineMs: options.probeDeadlineMs,
        overallMs: CRASH_ACK_MS_MAX,
        accept: () => true,
      });
      const ms = ack.ackAt - killedAt;
      samples.push(ms);
      details.push({ killed: leader, ackedBy: ack.member, term: String(ack.term), ms });
      progress(
        `${target.name} (c) rep ${rep + 1}/${options.repetitions}: killed ${leader}, first write after ${ms.toFixed(1)} ms (term ${ack.term}, via ${ack.member})`,
      );
    } catch (e) {
      failures++;
      firstError ??= e instanceof Error ? e.message : String(e);
      details.push({ killed: leader });
      progress(`${target.name} (c) rep ${rep + 1}: ${firstError}`);
    }
    await target.tidy?.();
    await target.restart(leader, RESTART_MS_MAX);
    await sleep(options.settleMs);
  }
  return {
    repetitions: options.repetitions,
    failoverMs: summarizeMs(samples),
    failures,
    ...(firstError !== undefined ? { firstError } : {}),
    details,
  };
}
