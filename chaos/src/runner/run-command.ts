import { randomInt } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CleanupRegistry } from '../harness/cleanup';
import { loadScenarios } from '../scenarios/load';
import type { RunReport } from './report';
import { junitXml } from './report';
import { runScenario } from './run-scenario';
import { REPO_ROOT } from './topology';

/** RUN_EXIT: 0 every scenario passed, 1 one did not, 3 bad arguments or scenarios file. */
export const RUN_EXIT = { OK: 0, FAILED: 1, BAD_ARGUMENTS: 3 } as const;

/** DEFAULT_SCENARIOS_FILE is the scenarios file used unless --scenarios names another. */
export const DEFAULT_SCENARIOS_FILE = join(REPO_ROOT, 'chaos/chaos-scenarios.yaml');

const USAGE =
  'usage: npm run chaos -- [--scenario NAME]... [--suite short|long|broken] [--seed N] [--duration S] ' +
  '[--out DIR] [--netns auto|on|off] [--scenarios FILE]';

/**
 * runChaosCommand is `npm run chaos`: it picks scenarios (by name, or a suite; the short suite by
 * default), runs each with the seed (random unless given), prints progress lines, writes each
 * run's report.json and junit.xml and a summary junit.xml in --out, and for every failed run
 * prints its seed and the command that replays it.
 */
export async function runChaosCommand(
  argv: readonly string[],
  print: (line: string) => void,
): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        scenario: { type: 'string', multiple: true },
        suite: { type: 'string' },
        seed: { type: 'string' },
        duration: { type: 'string' },
        out: { type: 'string' },
        netns: { type: 'string', default: 'auto' },
        scenarios: { type: 'string', default: DEFAULT_SCENARIOS_FILE },
      },
    }).values;
  } catch (e) {
    print(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return RUN_EXIT.BAD_ARGUMENTS;
  }
  const bad = (message: string): number => {
    print(`${message}\n${USAGE}`);
    return RUN_EXIT.BAD_ARGUMENTS;
  };
  const seed = values.seed === undefined ? randomInt(1, 2 ** 31) : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
    return bad(`--seed must be an integer in 0..4294967295, got ${values.seed ?? ''}`);
  const durationS = values.duration === undefined ? undefined : Number(values.duration);
  if (durationS !== undefined && !(durationS >= 5 && durationS <= 3600))
    return bad(`--duration must be 5..3600 seconds, got ${values.duration ?? ''}`);
  if (!['auto', 'on', 'off'].includes(values.netns))
    return bad(`--netns must be auto, on or off, got ${values.netns}`);
  let scenarios;
  try {
    scenarios = loadScenarios(values.scenarios);
  } catch (e) {
    print(e instanceof Error ? e.message : String(e));
    return RUN_EXIT.BAD_ARGUMENTS;
  }
  const names = values.scenario ?? [];
  for (const n of names) {
    if (!scenarios.some((s) => s.name === n))
      return bad(`no scenario "${n}" (known: ${scenarios.map((s) => s.name).join(', ')})`);
  }
  const suite = values.suite ?? (names.length === 0 ? 'short' : undefined);
  if (suite !== undefined && !['short', 'long', 'broken'].includes(suite))
    return bad(`--suite must be short, long or broken, got ${suite}`);
  const chosen = scenarios.filter((s) => names.includes(s.name) || s.suite === suite);
  // The replay command names the scenarios file only when it is not the default one.
  const scenariosFile =
    resolve(values.scenarios) === DEFAULT_SCENARIOS_FILE ? undefined : resolve(values.scenarios);
  const outDir = values.out ?? join(REPO_ROOT, 'chaos/runs', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(outDir, { recursive: true });
  print(`chaos: ${chosen.length} scenario(s), seed ${seed}, reports in ${outDir}`);
  const reports: RunReport[] = [];
  for (const scenario of chosen) {
    const cleanup = new CleanupRegistry();
    cleanup.installSignalHandlers((signal) =>
      print(`chaos: ${signal}: stopping every process and removing namespaces, rules and mounts`),
    );
    reports.push(
      await runScenario({
        scenario,
        seed,
        ...(durationS === undefined ? {} : { durationS }),
        outDir,
        netns: values.netns as 'auto' | 'on' | 'off',
        cleanup,
        progress: print,
        ...(scenariosFile === undefined ? {} : { scenariosFile }),
      }),
    );
  }
  writeFileSync(join(outDir, 'junit.xml'), junitXml(reports));
  writeFileSync(
    join(outDir, 'summary.json'),
    `${JSON.stringify(
      reports.map((r) => ({
        scenario: r.scenario,
        seed: r.seed,
        passed: r.passed,
        verdict: r.verdict.verdict,
        report: join(r.runDir, 'report.json'),
      })),
      null,
      2,
    )}\n`,
  );
  const failed = reports.filter((r) => !r.passed);
  for (const r of failed) {
    print(
      `FAILED ${r.scenario}: verdict ${r.verdict.verdict}, expected ${r.expected}; seed ${r.seed}; replay: ${r.replay}`,
    );
    for (const e of r.errors) print(`  error: ${e}`);
  }
  print(`chaos: ${reports.length - failed.length}/${reports.length} passed; ${join(outDir, 'junit.xml')}`);
  return failed.length === 0 ? RUN_EXIT.OK : RUN_EXIT.FAILED;
}
