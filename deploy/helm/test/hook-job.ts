import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RenderedContainer } from './chart-invariants';
import { only } from './chart-invariants';
import type { KubeObject } from './helm';
import type { RenderedCluster } from './rendered-cluster';
import { NAMESPACE, usesCsiDriver, writeCsiFiles } from './rendered-cluster';
import { containerEnvironment, localPath } from './rendered-pod';

/** HOOK_JOB_MS bounds one run of a hook's script. */
export const HOOK_JOB_MS = 60_000;

/** JobRun is how a run of a hook's container ended, and what it printed. */
export interface JobRun {
  readonly code: number | null;
  readonly output: string;
}

/**
 * HookJob runs a rendered scaling hook (ConfigMap and Job `name`) against a RenderedCluster as the
 * kubelet would: the Job container's exact command and environment, its script from the rendered
 * ConfigMap, the client Service and the members' DNS names replaced by loopback ports.
 */
export class HookJob {
  private constructor(
    private readonly cluster: RenderedCluster,
    private readonly container: RenderedContainer,
    private readonly dir: string,
    private readonly csi: boolean,
  ) {}

  /** of finds hook `name` in the rendered `objects` and writes its script where its mount stands. */
  static of(cluster: RenderedCluster, objects: readonly KubeObject[], name: string): HookJob {
    const job = only(objects, 'Job', name);
    const container = (job['spec'] as { template: { spec: { containers: RenderedContainer[] } } }).template
      .spec.containers[0]!;
    const dir = join(cluster.root, name);
    mkdirSync(join(dir, 'token'), { recursive: true });
    mkdirSync(join(dir, 'script'), { recursive: true });
    const script = only(objects, 'ConfigMap', name)['data'] as Record<string, string>;
    writeFileSync(join(dir, 'script', 'scale-members.js'), script['scale-members.js']!);
    const volumes = (job['spec'] as { template: { spec: { volumes?: Array<{ name: string }> } } }).template
      .spec.volumes;
    // The csi-driver gives the Job a certificate of its own; the Job reads only its ca.crt.
    const csi = usesCsiDriver(volumes);
    if (csi) writeCsiFiles(cluster.secretDirs.tls, join(dir, 'tls'));
    return new HookJob(cluster, container, dir, csi);
  }

  /** run runs the container once with `token` in its token Secret, killed after HOOK_JOB_MS. */
  async run(token: string): Promise<JobRun> {
    writeFileSync(join(this.dir, 'token', 'token'), `${token}\n`);
    const service = this.cluster.pods[0]!.ports['http']!;
    const mountDir = (volume: string): string =>
      volume === 'tls' && !this.csi ? this.cluster.secretDirs.tls : join(this.dir, volume);
    const env = containerEnvironment(this.container, {
      podName: `${this.container.name}-job`,
      mountDir,
      // The client Service reaches any member (a follower forwards changes to the leader); the
      // script's URLs name hosts, the certificates name localhost and 127.0.0.1.
      address: (host, port) =>
        host === `r1-omnirelay.${NAMESPACE}.svc.cluster.local` && port === 7201
          ? `127.0.0.1:${service}`
          : this.cluster.address(host, port),
    });
    const [command, ...args] = (this.container.command ?? []).map((arg) =>
      localPath(this.container, arg, mountDir),
    );
    if (command !== 'node') throw new Error(`the hook runs ${String(command)}, not node`);
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', ...Object.fromEntries(env) },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      new Promise<number | null>((r) => child.once('exit', (c) => r(c))),
      new Promise<number | null>((r) => {
        timer = setTimeout(() => {
          process.kill(child.pid!, 'SIGKILL');
          r(null);
        }, HOOK_JOB_MS);
      }),
    ]);
    clearTimeout(timer);
    return { code, output };
  }
}
