import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** REPO_ROOT is the repository's root folder (this file is test/deploy/prometheus-tools.ts). */
export const REPO_ROOT = join(__dirname, '..', '..');

/** RULES_FILE is the alert rules file the Helm chart and the live test load. */
export const RULES_FILE = join(REPO_ROOT, 'deploy', 'prometheus', 'omnirelay-rules.yaml');

/** RULES_TEST_FILE is the promtool unit-test file of RULES_FILE. */
export const RULES_TEST_FILE = join(REPO_ROOT, 'deploy', 'prometheus', 'tests', 'omnirelay-rules.test.yaml');

/** TOOL_RUN_MS bounds one run of promtool. */
const TOOL_RUN_MS = 60_000;

/** ToolRun is how one run of a Prometheus tool ended. */
export interface ToolRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * requireTool returns the path of `name` (promtool or prometheus) on PATH, or throws saying how
 * to install it: the Debian package `prometheus`, which .ci/run installs. A missing tool fails the
 * test rather than skipping it, so a machine without it cannot pass by accident.
 */
export function requireTool(name: 'promtool' | 'prometheus'): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error(
      `${name} is not installed: install the Debian package prometheus ` +
        '(apt-get install -y prometheus, as .ci/run does)',
    );
  }
  return path;
}

/** promtool runs promtool with `args` (and `input` on stdin), bounded by TOOL_RUN_MS. */
export function promtool(args: readonly string[], input?: string): ToolRun {
  const run = spawnSync(requireTool('promtool'), [...args], {
    encoding: 'utf8',
    timeout: TOOL_RUN_MS,
    ...(input === undefined ? {} : { input }),
  });
  if (run.error !== undefined) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
