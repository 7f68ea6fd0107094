import type { RunVerdict } from '../run-checks';
import type { TimelineRecord } from './timeline';

/** RunReport is report.json: everything needed to judge and replay one scenario run. */
export interface RunReport {
  readonly scenario: string;
  readonly seed: number;
  readonly mode: 'netns' | 'loopback';
  readonly broken: string | null;
  readonly expected: 'valid' | 'invalid';
  /** passed: the verdict is the expected one (valid for a real build, invalid for a broken one). */
  readonly passed: boolean;
  readonly durationMs: number;
  readonly runDir: string;
  readonly replay: string;
  readonly timeline: readonly TimelineRecord[];
  readonly files: readonly string[];
  readonly verdict: RunVerdict | { readonly verdict: 'unknown'; readonly error: string };
  readonly errors: readonly string[];
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * junitXml renders reports as JUnit XML: one testsuite ("chaos"), one testcase per scenario, a
 * failure (with the verdicts, the seed and the replay command) when it did not pass.
 */
export function junitXml(reports: readonly RunReport[]): string {
  const failures = reports.filter((r) => !r.passed).length;
  const seconds = reports.reduce((s, r) => s + r.durationMs, 0) / 1000;
  const cases = reports.map((r) => {
    const name = `${r.scenario} (seed ${r.seed})`;
    const time = (r.durationMs / 1000).toFixed(3);
    if (r.passed) return `  <testcase classname="chaos" name="${escapeXml(name)}" time="${time}"/>`;
    const message = `verdict ${r.verdict.verdict}, expected ${r.expected}; replay: ${r.replay}`;
    const detail = JSON.stringify({ verdict: r.verdict, errors: r.errors }, null, 2);
    return [
      `  <testcase classname="chaos" name="${escapeXml(name)}" time="${time}">`,
      `    <failure message="${escapeXml(message)}">${escapeXml(detail)}</failure>`,
      '  </testcase>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="chaos" tests="${reports.length}" failures="${failures}" time="${seconds.toFixed(3)}">`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n');
}
