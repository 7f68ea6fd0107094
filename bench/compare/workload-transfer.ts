/**
 * Workload (d): planned leadership transfer to the next member. From the transfer request, every
 * few ms one write goes to each member; the figure is the time from the request to the first
 * acknowledged write whose Raft term is greater than the term before the request.
 */
import { progress } from '../support/stats';
import { firstAck } from './first-ack';
import { summarizeMs } from './summary';
import type { SampleSummary } from './summary';
import type { Target } from './target';
import { sleep } from './time';

/** TRANSFER_ACK_MS_MAX bounds one repetition's wait for a new-term write. */
const TRANSFER_ACK_MS_MAX = 15_000;

/** TransferResult is (d) for one target in one run. */
export interface TransferResult {
  readonly repetitions: number;
  /** firstNewTermWriteMs: request → first acknowledged write of a later term. */
  readonly firstNewTermWriteMs: SampleSummary;
  /** transferCallMs: how long the transfer call itself took to answer. */
  readonly transferCallMs: SampleSummary;
  readonly failures: number;
  readonly firstError?: string;
  readonly details: ReadonlyArray<{ from: string; to: string; leaderAfter?: string; ms?: number }>;
}

/** runTransfer runs `repetitions` transfers, each to the member after the current leader. */
export async function runTransfer(
  target: Target,
  options: {
    readonly repetitions: number;
    readonly probeIntervalMs: number;
    readonly probeDeadlineMs: number;
    readonly settleMs: number;
    readonly keyPrefix: string;
  },
): Promise<TransferResult> {
  const samples: number[] = [];
  const callMs: number[] = [];
  const details: Array<{ from: string; to: string; leaderAfter?: string; ms?: number }> = [];
  let failures = 0;
  let firstError: string | undefined;
  for (let rep = 0; rep < options.repetitions; rep++) {
    const from = await target.leader(30_000);
    const i = target.members.indexOf(from);
    const to = target.members[(i + 1) % target.members.length]!;
    const termBefore = await target.raftTerm(from);
    const requestedAt = performance.now();
    let transferError: string | undefined;
    const transfer = target.transferLeadership(from, to).then(
      () => {
        callMs.push(performance.now() - requestedAt);
      },
      (e: unknown) => {
        transferError = e instanceof Error ? e.message : String(e);
      },
    );
    try {
      const ack = await firstAck(target, {
        members: target.members,
        keyPrefix: `${options.keyPrefix}/${rep}`,
        intervalMs: options.probeIntervalMs,
        callDeadlineMs: options.probeDeadlineMs,
        overallMs: TRANSFER_ACK_MS_MAX,
        accept: (term) => term > termBefore,
      });
      await transfer;
      const ms = ack.ackAt - requestedAt;
      const leaderAfter = await target.leader(30_000);
      samples.push(ms);
      details.push({ from, to, leaderAfter, ms });
      progress(
        `${target.name} (d) rep ${rep + 1}/${options.repetitions}: ${from} → ${to} (now ${leaderAfter}), first term-${ack.term} write after ${ms.toFixed(1)} ms${transferError !== undefined ? ` (transfer call: ${transferError})` : ''}`,
      );
    } catch (e) {
      await transfer;
      failures++;
      firstError ??= `${e instanceof Error ? e.message : String(e)}${transferError !== undefined ? `; transfer call: ${transferError}` : ''}`;
      details.push({ from, to });
      progress(`${target.name} (d) rep ${rep + 1}: ${firstError}`);
    }
    await target.tidy?.();
    await sleep(options.settleMs);
  }
  return {
    repetitions: options.repetitions,
    firstNewTermWriteMs: summarizeMs(samples),
    transferCallMs: summarizeMs(callMs),
    failures,
    ...(firstError !== undefined ? { firstError } : {}),
    details,
  };
}
