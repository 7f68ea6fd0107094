/**
 * Sample summaries of the compare bench. Unlike support/stats.ts `summarize`, this one never spreads
 * the samples into Math.min/max (hundreds of thousands of renewals would overflow the call stack).
 */
import { percentile } from '../support/stats';

/** SampleSummary is count, min, p50, p99 and max of a sample in ms, plus the samples (rounded to 0.01 ms). */
export interface SampleSummary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly samples: readonly number[];
}

/** summarizeMs summarizes `values`; every figure is NaN when the sample is empty. */
export function summarizeMs(values: readonly number[]): SampleSummary {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return {
    count: values.length,
    min: values.length === 0 ? Number.NaN : min,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values.length === 0 ? Number.NaN : max,
    samples: values.map((v) => Math.round(v * 100) / 100),
  };
}

/** median of the finite values, or NaN when there are none. */
export function median(values: readonly number[]): number {
  return percentile(
    values.filter((v) => Number.isFinite(v)),
    50,
  );
}

/** maxOf the finite values, or NaN when there are none. */
export function maxOf(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length === 0 ? Number.NaN : finite.reduce((a, b) => (b > a ? b : a));
}
