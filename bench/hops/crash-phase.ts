/**
 * The crash phase of `npm run bench -- hops --crashes N`: SIGKILL the Raft leader, probe every
 * survivor as `compare` (c) does (every 5 ms one write through each survivor's own SDK client),
 * and rebuild from the hop ledger where the time from the kill to the first acknowledged write
 * went: detection, the fast-failover delay, pre-vote, vote, the first commit, and the probe
 * writes' own path (each tagged with a correlation id, so the ledger shows where it arrived).
 */
import type { HopRecord } from '@omnirelay/raft';
import { firstAck } from '../compare/first-ack';
import type { OmniRelayTarget } from '../compare/omnirelay-target';
import { sharedNowMs, sleep } from '../compare/time';
import { readProc } from '../scale/proc-stats';
import { progress } from '../support/stats';
import type { CrashPath, ProbeTrace, StepCpu } from './ledger-paths';
import { CRASH_STEPS, Ledger, crashPath, probeTrace, stepCpu } from './ledger-paths';

/** CRASH_PROBE_INTERVAL_MS and CRASH_PROBE_DEADLINE_MS are (c)'s probe cadence and per-write deadline. */
const CRASH_PROBE_INTERVAL_MS = 5;
const CRASH_PROBE_DEADLINE_MS = 3000;
/** CRASH_ACK_MS_MAX bounds one repetition's wait for a write after the kill. */
const CRASH_ACK_MS_MAX = 15_000;
/** CRASH_RESTART_MS_MAX bounds the restart and catch-up of the killed member. */
const CRASH_RESTART_MS_MAX = 60_000;
/** CRASH_SETTLE_MS is the pause after the restart before the next kill (as in `compare`). */
const CRASH_SETTLE_MS = 3000;

/** ProbeOutcome is one probe write as the bench saw it (times: sharedNowMs). */
export interface ProbeOutcome {
  readonly member: string;
  readonly tag: string;
  readonly sentAt: number;
  readonly endAt: number;
  /** error is the failure's code (an SDK error) or message; absent when the write was acknowledged. */
  readonly error?: string;
}

/**
 * taggedProbe is `target`'s probe write with its key as correlation id (so the hop ledger shows
 * where each went), recording every write's outcome in `probes`.
 */
export function taggedProbe(target: OmniRelayTarget, probes: ProbeOutcome[]): Pick<OmniRelayTarget, 'write'> {
  return {
    write: async (member: string, key: string, deadlineMs: number): Promise<bigint> => {
      const sentAt = sharedNowMs();
      try {
        const term = await target.write(member, key, deadlineMs, key);
        probes.push({ member, tag: key, sentAt, endAt: sharedNowMs() });
        return term;
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        const error = typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
        probes.push({ member, tag: key, sentAt, endAt: sharedNowMs(), error });
        throw e;
      }
    },
  };
}

/** ackedProbe is the first acknowledged of `probes` and its path in `ledger` to `leader`, which answered it. */
export function ackedProbe(
  probes: readonly ProbeOutcome[],
  ledger: Ledger,
  leader: string,
): (ProbeOutcome & ProbeTrace) | undefined {
  const first = probes.filter((p) => p.error === undefined).sort((a, b) => a.endAt - b.endAt)[0];
  return first === undefined
    ? undefined
    : { ...first, ...probeTrace(ledger, first.tag, first.sentAt, leader) };
}

/** CrashRun is one kill → first acknowledged write, with the path the ledger gave. */
export interface CrashRun {
  readonly killed: string;
  readonly path?: CrashPath;
  /** cpu is what the node ending each step of `path` did meanwhile. */
  readonly cpu?: Partial<Record<(typeof CRASH_STEPS)[number], StepCpu>>;
  /** acked is the first acknowledged probe write and where the ledger saw it. */
  readonly acked?: ProbeOutcome & ProbeTrace;
  /** failedBeforeAck counts, per code, the probe writes that failed before the acknowledgement. */
  readonly failedBeforeAck: Readonly<Record<string, number>>;
  readonly sent: number;
  /** rssMiB is the killed leader's resident memory just before the kill (undefined when unreadable). */
  readonly rssMiB?: number;
  readonly error?: string;
  /** records are the ledger's records of the failover, with --raw. */
  readonly records?: readonly HopRecord[];
}

/** runCrashes runs `crashes` kill → first write → restart cycles on `target` (hop ledger on). */
export async function runCrashes(
  target: OmniRelayTarget,
  crashes: number,
  raw: boolean,
  drainLedgers: (ledger: Ledger, members: readonly string[]) => Promise<number>,
): Promise<{ runs: CrashRun[]; dropped: number }> {
  const runs: CrashRun[] = [];
  let dropped = 0;
  for (let rep = 0; rep < crashes; rep++) {
    const killed = await target.leader(30_000);
    const survivors = target.members.filter((m) => m !== killed);
    await drainLedgers(new Ledger(), target.members);
    const probes: ProbeOutcome[] = [];
    const probe = taggedProbe(target, probes);
    const pid = target.pid(killed);
    const rssBytes = pid === undefined ? undefined : readProc(pid)?.rssBytes;
    const rssMiB = rssBytes === undefined || Number.isNaN(rssBytes) ? undefined : rssBytes / 2 ** 20;
    const killedAt = sharedNowMs();
    await target.kill(killed);
    try {
      const ack = await firstAck(probe, {
        members: survivors,
        keyPrefix: `crash/${rep}`,
        intervalMs: CRASH_PROBE_INTERVAL_MS,
        callDeadlineMs: CRASH_PROBE_DEADLINE_MS,
        overallMs: CRASH_ACK_MS_MAX,
        accept: () => true,
      });
      const ackAt = performance.timeOrigin + ack.ackAt;
      const ledger = new Ledger();
      dropped += await drainLedgers(ledger, survivors);
      const path = crashPath(ledger, killed, Number(ack.term), killedAt, ackAt);
      const cpu = stepCpu(ledger, CRASH_STEPS, path);
      const acked = path.winner === undefined ? undefined : ackedProbe(probes, ledger, path.winner);
      const failedBeforeAck: Record<string, number> = {};
      for (const p of probes) {
        if (p.error !== undefined && p.endAt <= ackAt)
          failedBeforeAck[p.error] = (failedBeforeAck[p.error] ?? 0) + 1;
      }
      runs.push({
        killed,
        path,
        cpu,
        ...(acked === undefined ? {} : { acked }),
        failedBeforeAck,
        sent: ack.sent,
        ...(rssMiB === undefined ? {} : { rssMiB }),
        ...(raw ? { records: ledger.all() } : {}),
      });
      progress(
        `crash ${rep + 1}/${crashes}: killed ${killed}, first write after ${(ackAt - killedAt).toFixed(1)} ms (term ${ack.term}, leader ${path.winner ?? '?'}, via ${ack.member})`,
      );
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      runs.push({ killed, failedBeforeAck: {}, sent: probes.length, error });
      progress(`crash ${rep + 1} failed: ${error}`);
    }
    await target.tidy();
    await target.restart(killed, CRASH_RESTART_MS_MAX);
    await sleep(CRASH_SETTLE_MS);
  }
  return { runs, dropped };
}
