/** percentile returns the p-th percentile (nearest rank) of `values`, or NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Summary is the usual figures of a sample. */
export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly median: number;
  readonly p99: number;
  readonly max: number;
  readonly samples: readonly number[];
}

/** summarize computes count, min, median, p99 and max, keeping the samples. */
export function summarize(values: readonly number[]): Summary {
  return {
    count: values.length,
    min: Math.min(...values),
    median: percentile(values, 50),
    p99: percentile(values, 99),
    max: Math.max(...values),
    samples: values.map((v) => Math.round(v * 10) / 10),
  };
}

/** progress writes one line of progress to stderr. */
export function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}
