import { SERVER_NODE_ENV } from '@omnirelay/server';
import type { KubeObject } from './helm';

/** Labels is a label map. */
type Labels = Readonly<Record<string, string>>;

/** Container is the part of a rendered container the invariants read. */
export interface RenderedContainer {
  readonly name: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: ReadonlyArray<{
    readonly name: string;
    readonly value?: string;
    readonly valueFrom?: unknown;
  }>;
  readonly ports?: ReadonlyArray<{ readonly name?: string; readonly containerPort: number }>;
  readonly startupProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly securityContext?: Record<string, unknown>;
  readonly volumeMounts?: ReadonlyArray<{ readonly name: string; readonly mountPath: string }>;
}

/** Probe is an HTTP probe as rendered. */
interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: string | number; readonly scheme?: string };
}

/** RenderedStatefulSet is the part of the rendered StatefulSet the tests read. */
export interface RenderedStatefulSet {
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly replicas: number;
    readonly serviceName: string;
    readonly podManagementPolicy: string;
    readonly selector: { readonly matchLabels: Labels };
    readonly persistentVolumeClaimRetentionPolicy?: Record<string, string>;
    readonly volumeClaimTemplates?: ReadonlyArray<{ readonly metadata: { readonly name: string } }>;
    readonly template: {
      readonly metadata: { readonly labels: Labels; readonly annotations: Labels };
      readonly spec: {
        readonly automountServiceAccountToken?: boolean;
        readonly terminationGracePeriodSeconds?: number;
        readonly securityContext?: Record<string, unknown>;
        readonly containers: readonly RenderedContainer[];
        readonly volumes?: ReadonlyArray<{ readonly name: string; readonly [source: string]: unknown }>;
        readonly affinity?: Record<string, unknown>;
        readonly topologySpreadConstraints?: readonly unknown[];
      };
    };
  };
}

/** only returns the single object of `kind` (named `name` when given), or throws. */
export function only<T = KubeObject>(objects: readonly KubeObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length}`);
  return found[0] as T;
}

/** selects tells whether `selector` matches `labels` (every selector label present and equal). */
export function selects(selector: Labels | undefined, labels: Labels | undefined): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/**
 * chartInvariantErrors checks what must hold in every rendering, whatever the values: selectors
 * match the pods, named ports exist, the member lists name every replica, the server's
 * environment has SERVER_NODE_ENV, the hardening is on.
 * It returns one message per broken invariant.
 */
export function chartInvariantErrors(objects: readonly KubeObject[], namespace: string): string[] {
  const errors: string[] = [];
  const sts = only<RenderedStatefulSet>(objects, 'StatefulSet');
  const podLabels = sts.spec.template.metadata.labels;
  const pod = sts.spec.template.spec;
  const container = pod.containers[0]!;
  const portNames = new Set((container.ports ?? []).map((p) => p.name));
  const check = (ok: boolean, message: string): void => {
    if (!ok) errors.push(message);
  };

  check(
    selects(sts.spec.selector.matchLabels, podLabels),
    'StatefulSet selector does not match its pod labels',
  );
  check(sts.spec.podManagementPolicy === 'Parallel', 'podManagementPolicy is not Parallel');
  for (const service of objects.filter((o) => o.kind === 'Service')) {
    const spec = service['spec'] as {
      selector?: Labels;
      ports: Array<{ name: string; targetPort: string | number }>;
    };
    check(selects(spec.selector, podLabels), `Service ${service.metadata.name} selects no pod`);
    for (const port of spec.ports) {
      check(
        portNames.has(String(port.targetPort)),
        `Service ${service.metadata.name} port ${port.name} targets a missing container port`,
      );
    }
  }
  const peer = only(objects, 'Service', sts.spec.serviceName);
  const peerSpec = peer['spec'] as { clusterIP?: string; publishNotReadyAddresses?: boolean };
  check(peerSpec.clusterIP === 'None', 'the peer Service is not headless');
  check(peerSpec.publishNotReadyAddresses === true, 'the peer Service does not publish not-ready addresses');
  const pdb = only(objects, 'PodDisruptionBudget');
  const pdbSpec = pdb['spec'] as { maxUnavailable?: number; selector: { matchLabels: Labels } };
  check(pdbSpec.maxUnavailable === 1, 'the PodDisruptionBudget does not allow exactly one disruption');
  check(selects(pdbSpec.selector.matchLabels, podLabels), 'the PodDisruptionBudget selects no pod');

  for (const [what, probe] of [
    ['startup', container.startupProbe],
    ['liveness', container.livenessProbe],
    ['readiness', container.readinessProbe],
  ] as const) {
    const port = probe?.httpGet?.port;
    check(
      port !== undefined && portNames.has(String(port)),
      `the ${what} probe's port ${String(port)} is not a container port`,
    );
  }
  check(container.livenessProbe?.httpGet?.path === '/healthz', 'liveness is not on /healthz (process only)');
  check(container.startupProbe?.httpGet?.path === '/healthz', 'the startup probe is not on /healthz');
  check(container.readinessProbe?.httpGet?.path === '/readyz', 'readiness is not on /readyz');

  for (const monitor of objects.filter((o) => o.kind === 'ServiceMonitor')) {
    const spec = monitor['spec'] as { selector: { matchLabels: Labels }; endpoints: Array<{ port: string }> };
    const selected = objects.filter(
      (o) => o.kind === 'Service' && selects(spec.selector.matchLabels, o.metadata.labels),
    );
    check(selected.length === 1, `ServiceMonitor selects ${selected.length} Services, not exactly one`);
    // The Prometheus operator names the job after the Service; the alert rules select job=~".*omnirelay.*".
    for (const service of selected) {
      check(
        service.metadata.name.includes('omnirelay'),
        `scrape job ${service.metadata.name} does not contain omnirelay`,
      );
    }
    for (const endpoint of spec.endpoints) {
      const servicePorts = selected.flatMap((s) =>
        (s['spec'] as { ports: Array<{ name: string }> }).ports.map((p) => p.name),
      );
      check(
        servicePorts.includes(endpoint.port),
        `ServiceMonitor port ${endpoint.port} is not a port of the selected Service`,
      );
    }
  }

  const env = new Map((container.env ?? []).map((e) => [e.name, e.value]));
  for (const [variable, port] of [
    ['OMNIRELAY_CHART_MEMBERS_PEER', 'peer'],
    ['OMNIRELAY_CHART_MEMBERS_HTTP', 'http'],
    ['OMNIRELAY_CHART_MEMBERS_GRPC', 'grpc'],
  ] as const) {
    const containerPort = container.ports?.find((p) => p.name === port)?.containerPort;
    const expected = Array.from({ length: sts.spec.replicas }, (_, i) => {
      const id = `${sts.metadata.name}-${i}`;
      return `${id}=${id}.${sts.spec.serviceName}.${namespace}.svc.cluster.local:${String(containerPort)}`;
    }).join(',');
    check(
      env.get(variable) === expected,
      `${variable} is ${String(env.get(variable))}, expected ${expected}`,
    );
  }

  // glibc reads MALLOC_ARENA_MAX at start-up: only the container's environment can set it.
  for (const [variable, expected] of Object.entries(SERVER_NODE_ENV)) {
    check(
      env.get(variable) === expected,
      `${variable} is ${String(env.get(variable))}, expected ${expected} (SERVER_NODE_ENV)`,
    );
  }

  const podSecurity = pod.securityContext ?? {};
  const containerSecurity = container.securityContext ?? {};
  check(pod.automountServiceAccountToken === false, 'the pod mounts a service-account token');
  check(podSecurity['runAsNonRoot'] === true, 'the pod may run as root');
  check(
    (podSecurity['seccompProfile'] as { type?: string } | undefined)?.type === 'RuntimeDefault',
    'the pod has no RuntimeDefault seccomp profile',
  );
  check(containerSecurity['readOnlyRootFilesystem'] === true, 'the root filesystem is writable');
  check(containerSecurity['allowPrivilegeEscalation'] === false, 'privilege escalation is allowed');
  check(
    JSON.stringify((containerSecurity['capabilities'] as { drop?: string[] } | undefined)?.drop) ===
      '["ALL"]',
    'capabilities are not all dropped',
  );
  check(
    /^[0-9a-f]{64}$/.test(sts.spec.template.metadata.annotations['checksum/config'] ?? ''),
    'no checksum/config annotation',
  );
  check((pod.terminationGracePeriodSeconds ?? 0) >= 10, 'terminationGracePeriodSeconds is under 10 s');
  check(pod.affinity?.['podAntiAffinity'] !== undefined, 'no pod anti-affinity');
  const mounts = new Set((container.volumeMounts ?? []).map((m) => m.name));
  const volumes = new Set([
    ...(pod.volumes ?? []).map((v) => v.name),
    ...(sts.spec.volumeClaimTemplates ?? []).map((v) => v.metadata.name),
  ]);
  for (const mount of mounts) check(volumes.has(mount), `volume mount ${mount} has no volume`);
  return errors;
}
