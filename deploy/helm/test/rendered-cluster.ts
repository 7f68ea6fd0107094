import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@omnirelay/server';
import { issueCa, issueNode } from '@omnirelay/certs';
import type { RenderedStatefulSet } from './chart-invariants';
import { only } from './chart-invariants';
import type { KubeObject, RenderOptions } from './helm';
import { renderChart } from './helm';
import type { LoopbackPorts, PodPlan, PodProcess } from './rendered-pod';
import { httpGet, httpsGet, memberAddress, startPod } from './rendered-pod';

/** NAMESPACE is the namespace the tests render into. */
export const NAMESPACE = 'omnirelay';
/** READ_TOKEN has mesh.read; ADMIN_TOKEN has mesh.admin (both in the tokens Secret). */
export const READ_TOKEN = 'omr_rendered-config-read-token-0123456789';
export const ADMIN_TOKEN = 'omr_rendered-config-admin-token-0123456789';
/** SECRET_VALUES are the values naming the Secrets the cluster's folders stand in for. */
export const SECRET_VALUES = {
  'tls.existingSecret': 'omnirelay-tls',
  'auth.existingSecret': 'omnirelay-tokens',
};

/**
 * CSI_VALUES give each pod only its own key through cert-manager's csi-driver (and the tokens
 * Secret, not client certificates, for access control).
 */
export const CSI_VALUES = {
  'tls.existingSecret': '',
  'tls.certManager.enabled': true,
  'tls.certManager.csiDriver': true,
  'tls.certManager.issuerRef.name': 'omnirelay-ca',
};

/** CSI_FILES are what the csi-driver writes for a pod: its certificate and key, and the CA. */
const CSI_FILES = { crt: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

/** usesCsiDriver tells whether the `volumes` of a pod spec mount TLS from cert-manager's csi-driver. */
export function usesCsiDriver(volumes: ReadonlyArray<{ readonly name: string }> | undefined): boolean {
  const tls = volumes?.find((v) => v.name === 'tls') as { csi?: { driver?: string } } | undefined;
  return tls?.csi?.driver === 'csi.cert-manager.io';
}

/**
 * writeCsiFiles writes into `dir` what the csi-driver would mount for `id` (a member whose
 * certificate `issueNode` wrote into the CA folder `caDir`), or only the CA for a Job (no `id`).
 */
export function writeCsiFiles(caDir: string, dir: string, id?: string): void {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(caDir, 'ca.crt'), join(dir, CSI_FILES.ca));
  if (id === undefined) return;
  copyFileSync(join(caDir, `${id}.crt`), join(dir, CSI_FILES.crt));
  copyFileSync(join(caDir, `${id}.key`), join(dir, CSI_FILES.key));
}

/** ProbeTarget is a rendered httpGet probe. */
export interface ProbeTarget {
  readonly path: string;
  readonly port: string | number;
  readonly scheme?: string;
}

/** Status is the part of GET /status read here. */
export interface Status {
  readonly id: string;
  readonly role: string;
  readonly leader: string;
}

/** Members is the part of GET /cluster/members the tests read. */
export interface Members {
  readonly nodeId: string;
  readonly leader: string;
  readonly members: ReadonlyArray<{ readonly id: string; readonly voter: boolean }>;
}

/**
 * RenderedCluster runs the members of a rendered StatefulSet as processes on loopback (see
 * startPod), with real certificates and a tokens file standing in for the Secrets.
 */
export class RenderedCluster {
  readonly pods: PodProcess[] = [];

  private constructor(
    readonly root: string,
    readonly sts: RenderedStatefulSet,
    readonly objects: readonly KubeObject[],
    readonly ca: Buffer,
    readonly plan: PodPlan,
    readonly secretDirs: Readonly<Record<'tls' | 'auth', string>>,
    private readonly ports: Map<string, LoopbackPorts>,
    /** csi: each pod mounts only its own key (the csi-driver's files), not the shared Secret. */
    readonly csi: boolean,
  ) {}

  /**
   * start renders the chart with `set` (plus the Secrets' values) and starts every member. With
   * the csi-driver (CSI_VALUES), each pod's tls mount is a folder of its own holding its files.
   */
  static async start(set: RenderOptions['set']): Promise<RenderedCluster> {
    const root = mkdtempSync(join(tmpdir(), 'omnirelay-rendered-'));
    const objects = await renderChart({ set: { ...SECRET_VALUES, ...set } });
    const sts = only<RenderedStatefulSet>(objects, 'StatefulSet');
    // The Secrets: what `omnirelay cert issue` and `omnirelay token create` write.
    const tls = join(root, 'secret-tls');
    const auth = join(root, 'secret-auth');
    await issueCa({ outDir: tls, clusterId: 'omnirelay' });
    mkdirSync(auth);
    const entry = (name: string, token: string, role: string): string =>
      `  - name: ${name}\n    sha256: ${createHash('sha256').update(token, 'utf8').digest('hex')}\n    roles: [${role}]\n`;
    writeFileSync(
      join(auth, 'tokens.yaml'),
      `tokens:\n${entry('reader', READ_TOKEN, 'mesh.read')}${entry('admin', ADMIN_TOKEN, 'mesh.admin')}`,
    );
    const ports = new Map<string, LoopbackPorts>();
    const csi = usesCsiDriver(sts.spec.template.spec.volumes);
    const plan: PodPlan = {
      namespace: NAMESPACE,
      ports,
      mountDir: (pod, volume) =>
        volume === 'tls' && !csi ? tls : volume === 'auth' ? auth : join(root, pod, volume),
    };
    const cluster = new RenderedCluster(
      root,
      sts,
      objects,
      readFileSync(join(tls, 'ca.crt')),
      plan,
      { tls, auth },
      ports,
      csi,
    );
    await cluster.startPods(sts);
    return cluster;
  }

  /**
   * startUpgraded renders the chart as `helm upgrade` does with `set` (plus the Secrets' values)
   * and starts the pods that rendering adds (the ordinals no member runs yet) from its StatefulSet,
   * as the StatefulSet controller creates them before it rolls the running pods, except the pods
   * named in `stuck` (a pod that cannot start: its ports answer nothing); it returns the rendered
   * objects.
   */
  async startUpgraded(set: RenderOptions['set'], stuck: readonly string[] = []): Promise<KubeObject[]> {
    const objects = await renderChart({ set: { ...SECRET_VALUES, ...set }, upgrade: true });
    await this.startPods(only<RenderedStatefulSet>(objects, 'StatefulSet'), stuck);
    return objects;
  }

  /**
   * startPods gives each pod of `sts` that does not run yet a certificate and ports, and starts it
   * unless it is one of `stuck`.
   */
  private async startPods(sts: RenderedStatefulSet, stuck: readonly string[] = []): Promise<void> {
    const names = Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}`).filter(
      (id) => !this.ports.has(id),
    );
    for (const id of names) {
      await issueNode({
        caDir: this.secretDirs.tls,
        outDir: this.secretDirs.tls,
        id,
        clusterId: 'omnirelay',
      });
      if (this.csi) writeCsiFiles(this.secretDirs.tls, this.plan.mountDir(id, 'tls'), id);
      this.ports.set(id, {
        peer: await freePort(),
        http: await freePort(),
        grpc: await freePort(),
        metrics: await freePort(),
      });
    }
    for (const id of names.filter((n) => !stuck.includes(n)))
      this.pods.push(startPod(sts, id, this.plan, join(this.root, 'logs')));
  }

  /** address is the loopback stand-in of a member's `host:port` (see memberAddress). */
  address(host: string, port: number): string {
    return memberAddress(this.sts, this.plan, host, port);
  }

  /** readinessProbe is the rendered container's readiness probe. */
  readinessProbe(): ProbeTarget {
    return this.probe('readinessProbe');
  }

  /** probe is the rendered container's `which` probe. */
  probe(which: 'startupProbe' | 'livenessProbe' | 'readinessProbe'): ProbeTarget {
    const probe = this.sts.spec.template.spec.containers[0]![which]?.httpGet;
    if (probe === undefined) throw new Error(`the container has no ${which}`);
    return probe;
  }

  /** pod returns the member `id`. */
  pod(id: string): PodProcess {
    const found = this.pods.find((p) => p.pod === id);
    if (found === undefined) throw new Error(`no pod ${id}`);
    return found;
  }

  /** running lists the members whose process has not exited. */
  running(): PodProcess[] {
    return this.pods.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  }

  /** status is GET /status of `pod` (read token), or undefined when it does not answer 200. */
  async status(pod: PodProcess): Promise<Status | undefined> {
    try {
      const answer = await httpsGet(pod.ports['http']!, '/status', this.ca, READ_TOKEN);
      return answer.status === 200 ? (JSON.parse(answer.body) as Status) : undefined;
    } catch {
      return undefined;
    }
  }

  /** members is GET /cluster/members of `pod` (default: the first member), with the admin token. */
  async members(pod: PodProcess = this.pods[0]!): Promise<Members> {
    const answer = await httpsGet(pod.ports['http']!, '/cluster/members', this.ca, ADMIN_TOKEN);
    if (answer.status !== 200) throw new Error(`GET /cluster/members: ${answer.status} ${answer.body}`);
    return JSON.parse(answer.body) as Members;
  }

  /** leaderOf returns the one member of `among` that says it leads, or undefined. */
  async leaderOf(among: readonly PodProcess[] = this.running()): Promise<string | undefined> {
    const statuses = await Promise.all(among.map((p) => this.status(p)));
    const leaders = statuses.filter((s) => s?.role === 'leader');
    return leaders.length === 1 ? leaders[0]!.id : undefined;
  }

  /**
   * waitForProbe polls the HTTP `probe` (its path on its container port, as the kubelet does) of
   * every running member (or of `among`) until each answers 200, every `pollMs`, failing with the
   * members' logs after `timeoutMs`.
   */
  async waitForProbe(
    probe: ProbeTarget,
    timeoutMs: number,
    pollMs = 200,
    among: readonly PodProcess[] = this.running(),
  ): Promise<void> {
    const { path } = probe;
    const deadline = Date.now() + timeoutMs;
    for (const pod of among) {
      let last = 'no answer';
      for (;;) {
        if (Date.now() > deadline) throw new Error(`${pod.pod} ${path}: ${last}\n${this.logs()}`);
        if (pod.child.exitCode !== null)
          throw new Error(`${pod.pod} exited ${pod.child.exitCode}\n${this.logs()}`);
        try {
          const answer = await httpGet(pod.ports[String(probe.port)]!, path, probe.scheme === 'HTTPS');
          if (answer.status === 200) break;
          last = `${answer.status} ${answer.body}`;
        } catch (e) {
          last = e instanceof Error ? e.message : String(e);
        }
        await new Promise((r) => setTimeout(r, pollMs));
      }
    }
  }

  /** logs are the end of every member's log, for a failure message. */
  logs(): string {
    return this.pods.map((p) => `--- ${p.pod}\n${readFileSync(p.logFile, 'utf8').slice(-2000)}`).join('\n');
  }

  /** stop SIGKILLs every member still running (by PID), waits for each, and removes the folders. */
  async stop(): Promise<void> {
    for (const pod of this.running()) {
      const exited = new Promise((r) => pod.child.once('exit', r));
      process.kill(pod.child.pid!, 'SIGKILL');
      await exited;
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
