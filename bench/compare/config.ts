/**
 * CompareConfig holds every count and duration of the compare bench, from the command line:
 * `--runs N` (default 3), `--quick` (a smoke run: 1 run, durations and counts cut about tenfold),
 * `--only omnirelay|etcd`, `--cpu-prof DIR` (a V8 CPU profile of every OmniRelay node process) and
 * `--security LIST` (`off`, `tls` or `off,tls`: which security settings each run measures).
 */

import { resolve } from 'node:path';
import { SetupError } from './etcd-install';
import { nodeArgOf } from '../support/options';
import { SECURITY_DEFAULT, parseSecurityList } from './security';
import type { SecurityMode } from './security';

/** CompareConfig is the validated configuration of one invocation. */
export interface CompareConfig {
  readonly runs: number;
  readonly quick: boolean;
  /** only restricts the run to one target (`--only omnirelay|etcd`), for trials. */
  readonly only: 'omnirelay' | 'etcd' | undefined;
  /**
   * cpuProfDir, from `--cpu-prof DIR`: every OmniRelay node runs with Node's --cpu-prof and writes
   * CPU.*.cpuprofile there when it stops (a node killed with SIGKILL in (c) writes none).
   */
  readonly cpuProfDir: string | undefined;
  /**
   * security lists the settings each run measures every target under, in this order (`--security
   * off,tls`: plaintext, then TLS with client certificates); default plaintext only.
   */
  readonly security: readonly SecurityMode[];
  /** workloads are the workloads each run measures (`--workloads a,d`); default all of them. */
  readonly workloads: readonly string[];
  /** nodeArgs are Node.js or V8 flags added to every OmniRelay node (`--node-arg=FLAG`, repeatable; e.g. an A/B of a V8 flag). */
  readonly nodeArgs: readonly string[];
  readonly clusterWarmupMs: number;
  readonly cyclesConcurrencies: readonly number[];
  readonly cyclesWarmupMs: number;
  readonly cyclesMeasureMs: number;
  readonly cyclesLeaseTtlMs: number;
  readonly renewLeases: number;
  readonly renewLeaseTtlMs: number;
  readonly renewInflight: number;
  readonly renewMeasureMs: number;
  readonly crashRepetitions: number;
  readonly crashProbeIntervalMs: number;
  readonly crashProbeDeadlineMs: number;
  readonly crashSettleMs: number;
  readonly transferRepetitions: number;
  readonly transferSettleMs: number;
  readonly watchWrites: number;
  readonly watchWatcherCounts: readonly number[];
  readonly watchWorkersMax: number;
  readonly watchSeenWaitMs: number;
  readonly holderRepetitions: number;
  readonly holderReleaseOnResetMs: number;
  readonly holderQueueMs: number;
}

/** RUNS_MAX bounds --runs. */
export const RUNS_MAX = 20;

function full(
  runs: number,
  only: CompareConfig['only'],
  cpuProfDir: string | undefined,
  security: readonly SecurityMode[],
): CompareConfig {
  return {
    runs,
    quick: false,
    only,
    cpuProfDir,
    security,
    workloads: WORKLOADS,
    nodeArgs: [],
    clusterWarmupMs: 5000,
    cyclesConcurrencies: [1, 16, 128],
    cyclesWarmupMs: 1000,
    cyclesMeasureMs: 10_000,
    cyclesLeaseTtlMs: 30_000,
    renewLeases: 10_000,
    renewLeaseTtlMs: 120_000,
    renewInflight: 128,
    renewMeasureMs: 10_000,
    crashRepetitions: 5,
    crashProbeIntervalMs: 5,
    crashProbeDeadlineMs: 3000,
    crashSettleMs: 3000,
    transferRepetitions: 5,
    transferSettleMs: 1000,
    watchWrites: 200,
    watchWatcherCounts: [1, 1000],
    watchWorkersMax: 4,
    watchSeenWaitMs: 2000,
    holderRepetitions: 10,
    holderReleaseOnResetMs: 100,
    holderQueueMs: 500,
  };
}

/** USAGE is printed for a bad command line. */
export const USAGE =
  'usage: npm run bench -- compare [--runs N] [--quick] [--only omnirelay|etcd] [--cpu-prof DIR] [--security off|tls|off,tls] [--workloads a,b,c,d,e,f] [--node-arg=FLAG ...]';

/** WORKLOADS are the workloads a run can measure (see bench/README.md). */
export const WORKLOADS: readonly string[] = ['a', 'b', 'c', 'd', 'e', 'f'];

/** parseConfig reads the command line (the arguments after the bench name); it throws with USAGE on a bad one. */
export function parseConfig(argv: readonly string[]): CompareConfig {
  let runs: number | undefined;
  let quick = false;
  let only: CompareConfig['only'];
  let cpuProfDir: string | undefined;
  let security: readonly SecurityMode[] = SECURITY_DEFAULT;
  let workloads: readonly string[] | undefined;
  const nodeArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    // An option's value follows it (`--runs 3`) or is joined to it (`--runs=3`).
    const value = (name: string): string | undefined =>
      a === name ? argv[++i] : a.startsWith(`${name}=`) ? a.slice(name.length + 1) : undefined;
    const takes = (name: string): boolean => a === name || a.startsWith(`${name}=`);
    const nodeArg = nodeArgOf(a, (reason) => new SetupError(`${reason}\n${USAGE}`));
    if (nodeArg !== undefined) nodeArgs.push(nodeArg);
    else if (a === '--quick') quick = true;
    else if (takes('--runs')) {
      const raw = value('--runs');
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1 || n > RUNS_MAX) {
        throw new SetupError(
          `--runs must be an integer in [1, ${RUNS_MAX}], got ${JSON.stringify(raw)}\n${USAGE}`,
        );
      }
      runs = n;
    } else if (takes('--only')) {
      const raw = value('--only');
      if (raw !== 'omnirelay' && raw !== 'etcd') {
        throw new SetupError(`--only must be omnirelay or etcd, got ${JSON.stringify(raw)}\n${USAGE}`);
      }
      only = raw;
    } else if (takes('--cpu-prof')) {
      const raw = value('--cpu-prof');
      if (raw === undefined || raw === '' || raw.startsWith('--')) {
        throw new SetupError(`--cpu-prof needs a folder for the profiles\n${USAGE}`);
      }
      cpuProfDir = resolve(raw);
    } else if (takes('--security')) {
      try {
        security = parseSecurityList(value('--security'));
      } catch (e) {
        throw new SetupError(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
      }
    } else if (takes('--workloads')) {
      const raw = value('--workloads') ?? '';
      const asked = raw.split(',').filter((w) => w !== '');
      if (asked.length === 0 || asked.some((w) => !WORKLOADS.includes(w))) {
        throw new SetupError(
          `--workloads must list some of ${WORKLOADS.join(',')}, got ${JSON.stringify(raw)}\n${USAGE}`,
        );
      }
      workloads = asked;
    } else throw new SetupError(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  const chosen = (c: CompareConfig): CompareConfig => ({
    ...c,
    nodeArgs,
    ...(workloads === undefined ? {} : { workloads }),
  });
  if (!quick) return chosen(full(runs ?? 3, only, cpuProfDir, security));
  const f = chosen(full(runs ?? 1, only, cpuProfDir, security));
  return {
    ...f,
    quick: true,
    clusterWarmupMs: 500,
    cyclesWarmupMs: 100,
    cyclesMeasureMs: 1000,
    renewLeases: 1000,
    renewMeasureMs: 1000,
    crashRepetitions: 2,
    crashSettleMs: 300,
    transferRepetitions: 2,
    transferSettleMs: 300,
    watchWrites: 20,
    watchWatcherCounts: [1, 100],
    holderRepetitions: 2,
  };
}
