/**
 * formatDurationMs renders a duration for a table: `850ms`, `8.2s` (tenths, rounded down),
 * `2m05s`, `1h02m`; a negative duration gets a leading `-`. Pure, so tables are golden-testable.
 */
export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const whole = Math.trunc(ms);
  if (whole < 0) return `-${formatDurationMs(-whole)}`;
  if (whole < 1000) return `${whole}ms`;
  if (whole < 60_000) {
    const tenths = Math.floor(whole / 100);
    return tenths % 10 === 0 ? `${tenths / 10}s` : `${(tenths / 10).toFixed(1)}s`;
  }
  const totalSeconds = Math.floor(whole / 1000);
  if (whole < 3_600_000) {
    return `${Math.floor(totalSeconds / 60)}m${String(totalSeconds % 60).padStart(2, '0')}s`;
  }
  const totalMinutes = Math.floor(totalSeconds / 60);
  return `${Math.floor(totalMinutes / 60)}h${String(totalMinutes % 60).padStart(2, '0')}m`;
}

/** formatStampMs renders a wall-clock stamp (ms since the epoch) as ISO 8601 in UTC. */
export function formatStampMs(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : '-';
}
