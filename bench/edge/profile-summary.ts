/**
 * Reading a V8 CPU profile (.cpuprofile JSON, as `node --cpu-prof` or the inspector's
 * Profiler.stop write it): self time by function and by file, largest first.
 */
import { basename } from 'node:path';

/** CpuProfile is the part of a .cpuprofile the summary reads. */
export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }>;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** SelfTime is the self time of one function or file, in ms and as a share of every sample. */
export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

/** ProfileSummary is a profile's total sampled time and its top functions and files by self time. */
export interface ProfileSummary {
  readonly totalMs: number;
  readonly functions: readonly SelfTime[];
  readonly files: readonly SelfTime[];
}

/**
 * fileOf names a frame's file: the path under node_modules (package and file) or under the
 * repository's packages/bench folders, else the URL's base name ('(native)' for V8's own frames).
 */
function fileOf(url: string): string {
  if (url === '') return '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) return url.slice(modules + 'node_modules/'.length);
  const ours = url.search(/\/(packages|bench)\//);
  if (ours !== -1) return url.slice(ours + 1);
  return basename(url);
}

/** summarizeProfile sums each sample's time delta into its function and its file; `top` rows of each. */
export function summarizeProfile(profile: CpuProfile, top: number): ProfileSummary {
  const frameOf = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i] ?? 0;
    const frame = frameOf.get(profile.samples[i]!);
    if (frame === undefined) continue;
    totalUs += us;
    const file = fileOf(frame.url);
    const fn = `${frame.functionName === '' ? '(anonymous)' : frame.functionName} ${file}:${frame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const rows = (m: Map<string, number>): SelfTime[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({
        name,
        ms: Math.round(us) / 1000,
        share: totalUs === 0 ? 0 : Math.round((us / totalUs) * 1000) / 1000,
      }));
  return { totalMs: Math.round(totalUs) / 1000, functions: rows(byFunction), files: rows(byFile) };
}
