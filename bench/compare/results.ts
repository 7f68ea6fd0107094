/**
 * The shape of bench/results/compare.json: every sample and summary of every workload, per run and
 * per target, plus the machine and the configuration.
 */
import type { CompareConfig } from './config';
import type { SecurityMode } from './security';
import type { TargetName } from './target';
import type { TlsCostRow } from './tls-cost';
import type { CrashResult } from './workload-crash';
import type { CyclesResult } from './workload-cycles';
import type { HolderResult } from './workload-holder';
import type { RenewalsResult } from './workload-renewals';
import type { TransferResult } from './workload-transfer';
import type { WatchResult } from './workload-watch';

/** WorkloadKey names the workloads of issue 8 (a–e) and issue 9 (f). */
export type WorkloadKey = 'a' | 'b' | 'c' | 'd' | 'e' | 'f';

/** TargetRun is one target's fresh cluster in one run: every workload's result, or its error. */
export interface TargetRun {
  readonly target: TargetName;
  /** security is the setting the target's cluster ran under in this run (plaintext, or TLS). */
  readonly security: SecurityMode;
  readonly run: number;
  readonly startedAt: string;
  durationMs: number;
  /** loadAverage: os.loadavg() (1, 5, 15 min) when the run started and ended; other processes skew figures. */
  readonly loadAverage: { readonly start: readonly number[]; end: readonly number[] };
  /** workloadMs: how long each workload took, set-up included. */
  readonly workloadMs: Partial<Record<WorkloadKey | 'start' | 'warmup', number>>;
  cycles?: CyclesResult[];
  renewals?: RenewalsResult;
  crash?: CrashResult;
  transfer?: TransferResult;
  watch?: WatchResult[];
  /** holder: one entry per variant (OmniRelay: without and with release-on-reset). */
  holder?: HolderResult[];
  /** errors: a workload that failed as a whole, with its message. */
  readonly errors: Partial<Record<WorkloadKey | 'cluster', string>>;
  /** notes: what was measured differently than asked, and why. */
  readonly notes: string[];
}

/** CompareResults is the whole JSON file. */
export interface CompareResults {
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryBytes: number;
    readonly platform: string;
    readonly node: string;
    readonly etcd: string | undefined;
    readonly omnirelay: string | undefined;
    readonly loadAverageAtStart: readonly number[];
  };
  /** setup says how each target runs (flags, client, what one "write" is). */
  readonly setup: Readonly<Record<string, string>>;
  readonly config: CompareConfig;
  readonly startedAt: string;
  durationMs: number;
  readonly skipped: Partial<Record<TargetName, string>>;
  readonly runs: TargetRun[];
  /**
   * tlsCost, when the runs measured both `off` and `tls`: per workload figure, OmniRelay / etcd
   * with TLS on, and each system's TLS-on / TLS-off ratio (see tls-cost.ts).
   */
  tlsCost?: TlsCostRow[];
  table?: string;
}

/**
 * resultsJson renders bench results as JSON: bigints as decimal strings, and arrays of numbers
 * (the samples) on one line each, so the file stays readable and several times smaller.
 */
export function resultsJson(results: unknown): string {
  const text = JSON.stringify(results, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
  return (
    text.replace(
      /\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g,
      (_m, inner: string) => `[${inner.replace(/\s+/g, '')}]`,
    ) + '\n'
  );
}
