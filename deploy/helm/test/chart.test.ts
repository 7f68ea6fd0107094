import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RenderedStatefulSet } from './chart-invariants';
import { chartInvariantErrors, only } from './chart-invariants';
import type { KubeObject, RenderOptions } from './helm';
import { CHART_DIR, helm, lintChart, renderChart, renderError } from './helm';
import { schemaErrors, typeErrors } from './kube-schema';

/** TLS_MODES are the ways the chart gets certificates: an existing Secret, cert-manager, or none. */
const TLS_MODES = {
  secret: { 'tls.existingSecret': 'omnirelay-tls', 'auth.existingSecret': 'omnirelay-tokens' },
  'cert-manager': {
    'tls.certManager.enabled': true,
    'tls.certManager.issuerRef.name': 'omnirelay-ca',
    'tls.clientCertAuth': true,
  },
  'cert-manager-csi': {
    'tls.certManager.enabled': true,
    'tls.certManager.csiDriver': true,
    'tls.certManager.issuerRef.name': 'omnirelay-ca',
    'tls.clientCertAuth': true,
  },
  off: { 'tls.enabled': false, insecure: true },
} as const;

/** Case is one cell of the matrix. */
interface Case {
  readonly replicas: 3 | 5 | 7;
  readonly tls: keyof typeof TLS_MODES;
  readonly monitoring: boolean;
  readonly persistence: boolean;
}

const cases: Case[] = ([3, 5, 7] as const).flatMap((replicas) =>
  (Object.keys(TLS_MODES) as Array<keyof typeof TLS_MODES>).flatMap((tls) =>
    [true, false].flatMap((monitoring) =>
      [true, false].map((persistence) => ({ replicas, tls, monitoring, persistence })),
    ),
  ),
);

/** optionsOf turns a case into helm values. */
function optionsOf(c: Case): RenderOptions {
  return {
    set: { replicas: c.replicas, 'persistence.enabled': c.persistence, ...TLS_MODES[c.tls] },
    monitoringApi: c.monitoring,
  };
}

const DEFAULT_TLS = TLS_MODES.secret;

describe('the Helm chart', () => {
  const rendered = new Map<Case, KubeObject[]>();

  beforeAll(async () => {
    for (const c of cases) rendered.set(c, await renderChart(optionsOf(c)));
  }, 60_000);

  it('runs the helm release binary pinned in package.json, not one from the PATH', async () => {
    const version = await helm(['version', '--template', '{{ .Version }} {{ .GitCommit }}']);
    expect(version.stdout).toBe('v3.10.1 9f88ccb6aee40b9a0535fcc7efea6055e1ef72c9');
  });

  it('passes helm lint --strict with TLS from a Secret, from cert-manager, from its csi-driver, and without TLS', async () => {
    for (const mode of Object.values(TLS_MODES)) {
      const result = await lintChart(mode);
      expect(`${result.stdout}${result.stderr}`).toContain('0 chart(s) failed');
      expect(result.ok).toBe(true);
    }
  });

  it('renders every object of the matrix valid against the Kubernetes schemas, unknown fields refused', () => {
    const all = [...rendered.values()].flat();
    expect(schemaErrors(all)).toEqual([]);
    expect(typeErrors(all)).toEqual([]);
  });

  it('keeps the invariants in every cell of the matrix (3/5/7, TLS, monitoring, persistence)', () => {
    for (const [c, objects] of rendered) {
      expect({ case: c, errors: chartInvariantErrors(objects, 'omnirelay') }).toEqual({
        case: c,
        errors: [],
      });
      const sts = only<RenderedStatefulSet>(objects, 'StatefulSet');
      expect(sts.spec.replicas).toBe(c.replicas);
      const container = sts.spec.template.spec.containers[0]!;
      const env = new Map((container.env ?? []).map((e) => [e.name, e.value]));
      if (c.tls === 'off') {
        expect(env.get('OMNIRELAY_INSECURE')).toBe('true');
        expect(env.has('OMNIRELAY_PEER_TLS_CA')).toBe(false);
        expect(env.has('OMNIRELAY_CLIENT_TLS_CERT')).toBe(false);
      } else if (c.tls === 'cert-manager-csi') {
        // The files the csi-driver writes for this pod alone.
        expect([...env].filter(([name]) => /_TLS_(CA|CERT|KEY)$/.test(name))).toEqual([
          ['OMNIRELAY_PEER_TLS_CA', '/etc/omnirelay/tls/ca.crt'],
          ['OMNIRELAY_PEER_TLS_CERT', '/etc/omnirelay/tls/tls.crt'],
          ['OMNIRELAY_PEER_TLS_KEY', '/etc/omnirelay/tls/tls.key'],
          ['OMNIRELAY_CLIENT_TLS_CERT', '/etc/omnirelay/tls/tls.crt'],
          ['OMNIRELAY_CLIENT_TLS_KEY', '/etc/omnirelay/tls/tls.key'],
          ['OMNIRELAY_CLIENT_TLS_CA', '/etc/omnirelay/tls/ca.crt'],
        ]);
        expect(env.has('OMNIRELAY_INSECURE')).toBe(false);
      } else {
        expect(env.get('OMNIRELAY_PEER_TLS_CERT')).toBe('/etc/omnirelay/tls/$(OMNIRELAY_ID).crt');
        expect(env.has('OMNIRELAY_INSECURE')).toBe(false);
        expect(env.has('OMNIRELAY_CLIENT_TLS_CERT')).toBe(true);
      }
      // Probes on the plaintext metrics port, whatever the client ports require.
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        expect(probe?.httpGet).toMatchObject({ port: 'metrics', scheme: 'HTTP' });
      }
      expect(env.get('OMNIRELAY_METRICS_ADDRESS')).toBe('0.0.0.0:7401');
      expect(objects.filter((o) => o.kind === 'Certificate')).toHaveLength(
        c.tls === 'cert-manager' ? c.replicas : 0,
      );
      expect(objects.filter((o) => o.kind === 'ServiceMonitor')).toHaveLength(c.monitoring ? 1 : 0);
      if (c.persistence) {
        expect(sts.spec.volumeClaimTemplates?.map((v) => v.metadata.name)).toEqual(['data']);
        expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({
          whenDeleted: 'Retain',
          whenScaled: 'Retain',
        });
      } else {
        expect(sts.spec.volumeClaimTemplates).toBeUndefined();
        expect(sts.spec.template.spec.volumes?.find((v) => v.name === 'data')?.['emptyDir']).toEqual({});
      }
    }
  });

  it('gives each member a cert-manager Certificate naming its spiffe identity, projected under its pod name', () => {
    const objects = rendered.get(cases.find((c) => c.replicas === 3 && c.tls === 'cert-manager')!)!;
    const certificates = objects.filter((o) => o.kind === 'Certificate');
    expect(certificates.map((o) => (o['spec'] as { uris: string[] }).uris)).toEqual([
      ['spiffe://omnirelay/node/r1-omnirelay-0'],
      ['spiffe://omnirelay/node/r1-omnirelay-1'],
      ['spiffe://omnirelay/node/r1-omnirelay-2'],
    ]);
    const sts = only<RenderedStatefulSet>(objects, 'StatefulSet');
    const tls = sts.spec.template.spec.volumes?.find((v) => v.name === 'tls') as unknown as {
      projected: { sources: Array<{ secret: { name: string; items: Array<{ path: string }> } }> };
    };
    expect(tls.projected.sources.map((s) => s.secret.name)).toEqual(
      certificates.map((o) => (o['spec'] as { secretName: string }).secretName),
    );
    expect(tls.projected.sources.flatMap((s) => s.secret.items.map((i) => i.path))).toEqual(
      expect.arrayContaining(['ca.crt', 'r1-omnirelay-0.crt', 'r1-omnirelay-2.key']),
    );
  });

  it("gives each pod only its own key with cert-manager's csi-driver: a certificate for its own identity, no Secret", () => {
    for (const c of cases.filter((k) => k.tls === 'cert-manager-csi')) {
      const objects = rendered.get(c)!;
      expect(objects.filter((o) => o.kind === 'Certificate' || o.kind === 'Secret')).toEqual([]);
      const sts = only<RenderedStatefulSet>(objects, 'StatefulSet');
      const tls = sts.spec.template.spec.volumes?.find((v) => v.name === 'tls');
      expect(Object.keys(tls!).sort()).toEqual(['csi', 'name']);
      expect(tls!['csi']).toEqual({
        driver: 'csi.cert-manager.io',
        readOnly: true,
        volumeAttributes: {
          'csi.cert-manager.io/issuer-name': 'omnirelay-ca',
          'csi.cert-manager.io/issuer-kind': 'Issuer',
          'csi.cert-manager.io/issuer-group': 'cert-manager.io',
          // The peer port trusts this URI: the member id is the pod name, which the driver expands.
          'csi.cert-manager.io/uri-sans': 'spiffe://omnirelay/node/${POD_NAME}',
          'csi.cert-manager.io/dns-names': [
            '${POD_NAME}.r1-omnirelay-peer.omnirelay.svc.cluster.local',
            'r1-omnirelay',
            'r1-omnirelay.omnirelay.svc',
            'r1-omnirelay.omnirelay.svc.cluster.local',
          ].join(','),
          'csi.cert-manager.io/duration': '2160h',
          'csi.cert-manager.io/renew-before': '360h',
          'csi.cert-manager.io/key-algorithm': 'ECDSA',
          'csi.cert-manager.io/key-size': '256',
          'csi.cert-manager.io/key-encoding': 'PKCS8',
          'csi.cert-manager.io/key-usages': 'digital signature,key encipherment,server auth,client auth',
          'csi.cert-manager.io/certificate-file': 'tls.crt',
          'csi.cert-manager.io/privatekey-file': 'tls.key',
          'csi.cert-manager.io/ca-file': 'ca.crt',
          // The pod's group (runAsGroup) may read the key; the root filesystem stays read-only.
          'csi.cert-manager.io/fs-group': '10001',
        },
      });
      // No other member's key is named anywhere in the pod.
      expect(JSON.stringify(sts.spec.template)).not.toMatch(/r1-omnirelay-\d\.(key|crt)|-tls"/);
    }
  });

  it('uses a hard anti-affinity on request and a soft one by default', async () => {
    const soft = only<RenderedStatefulSet>(await renderChart({ set: DEFAULT_TLS }), 'StatefulSet');
    const hard = only<RenderedStatefulSet>(
      await renderChart({ set: { ...DEFAULT_TLS, podAntiAffinity: 'hard' } }),
      'StatefulSet',
    );
    expect(Object.keys(soft.spec.template.spec.affinity?.['podAntiAffinity'] as object)).toEqual([
      'preferredDuringSchedulingIgnoredDuringExecution',
    ]);
    expect(Object.keys(hard.spec.template.spec.affinity?.['podAntiAffinity'] as object)).toEqual([
      'requiredDuringSchedulingIgnoredDuringExecution',
    ]);
    expect(soft.spec.template.spec.topologySpreadConstraints).toHaveLength(1);
  });

  it('changes the checksum annotation when the node configuration changes, so the pods roll', async () => {
    const checksum = async (set: RenderOptions['set']): Promise<string | undefined> =>
      only<RenderedStatefulSet>(await renderChart({ set }), 'StatefulSet').spec.template.metadata.annotations[
        'checksum/config'
      ];
    const base = await checksum(DEFAULT_TLS);
    expect(await checksum(DEFAULT_TLS)).toBe(base);
    expect(await checksum({ ...DEFAULT_TLS, 'cluster.electionTimeoutMs': 3000 })).not.toBe(base);
    expect(await checksum({ ...DEFAULT_TLS, 'auth.existingSecret': 'other-tokens' })).not.toBe(base);
  });

  it('renders both scaling hooks valid with TLS from a Secret, from cert-manager, from its csi-driver and off', async () => {
    const hooks = {
      'scaling.removeMembersHook.enabled': true,
      'scaling.addMembersHook.enabled': true,
      'scaling.tokenSecret.name': 'admin',
    };
    // The hooks present a token, so client certificates must not be required.
    const tokens = { 'tls.clientCertAuth': false, 'auth.existingSecret': 'omnirelay-tokens' };
    const all: KubeObject[] = [];
    for (const mode of Object.values(TLS_MODES)) {
      const objects = await renderChart({ set: { ...mode, ...tokens, ...hooks }, upgrade: true });
      const jobs = objects.filter((o) => o.kind === 'Job');
      expect(
        jobs.map((o) => [
          o.metadata.name,
          (o.metadata as { annotations?: Record<string, string> }).annotations?.['helm.sh/hook'],
        ]),
      ).toEqual([
        ['r1-omnirelay-remove-members', 'pre-upgrade'],
        ['r1-omnirelay-add-members', 'post-upgrade'],
      ]);
      expect(chartInvariantErrors(objects, 'omnirelay')).toEqual([]);
      all.push(...objects);
    }
    // One compiler run for the renderings.
    expect(schemaErrors(all)).toEqual([]);
    expect(typeErrors(all)).toEqual([]);
  });

  it('gives the hook Jobs only the CA with the csi-driver, under a URI that names no member', async () => {
    const objects = await renderChart({
      set: {
        ...TLS_MODES['cert-manager-csi'],
        'tls.clientCertAuth': false,
        'auth.existingSecret': 'omnirelay-tokens',
        'scaling.addMembersHook.enabled': true,
        'scaling.tokenSecret.name': 'admin',
      },
    });
    const job = only(objects, 'Job', 'r1-omnirelay-add-members');
    const pod = (job['spec'] as { template: { spec: { volumes: Array<Record<string, unknown>> } } }).template
      .spec;
    const tls = pod.volumes.find((v) => v['name'] === 'tls') as {
      csi: { volumeAttributes: Record<string, string> };
    };
    expect(tls.csi.volumeAttributes['csi.cert-manager.io/uri-sans']).toBe(
      'spiffe://omnirelay/hook/add-members',
    );
    expect(tls.csi.volumeAttributes['csi.cert-manager.io/dns-names']).toBeUndefined();
  });

  it('refuses the scaling hooks without an admin token Secret, and with client certificates required', async () => {
    for (const hook of ['removeMembersHook', 'addMembersHook']) {
      expect(await renderError({ set: { ...DEFAULT_TLS, [`scaling.${hook}.enabled`]: true } })).toContain(
        'scaling.removeMembersHook and scaling.addMembersHook need scaling.tokenSecret.name',
      );
      expect(
        await renderError({
          set: {
            ...TLS_MODES['cert-manager'],
            [`scaling.${hook}.enabled`]: true,
            'scaling.tokenSecret.name': 'admin',
          },
        }),
      ).toContain('the scaling hooks present a token, no client certificate, and tls.clientCertAuth refuses');
    }
    expect(
      await renderError({ set: { ...DEFAULT_TLS, 'scaling.removeMembersHook.tokenSecret.name': 'admin' } }),
    ).toContain('Additional property tokenSecret is not allowed');
  });

  it('starts an empty pod as a new cluster on helm install and waiting to be added on helm upgrade, unless told otherwise', async () => {
    const state = async (set: RenderOptions['set'], upgrade: boolean): Promise<string | undefined> =>
      only<RenderedStatefulSet>(
        await renderChart({ set: { ...DEFAULT_TLS, ...set }, upgrade }),
        'StatefulSet',
      ).spec.template.spec.containers[0]!.env?.find((e) => e.name === 'OMNIRELAY_INITIAL_CLUSTER_STATE')
        ?.value;
    expect(await state({}, false)).toBe('new');
    expect(await state({}, true)).toBe('existing');
    expect(await state({ 'cluster.initialState': 'new' }, true)).toBe('new');
    expect(await state({ 'cluster.initialState': 'existing' }, false)).toBe('existing');
    expect(await renderError({ set: { ...DEFAULT_TLS, 'cluster.initialState': 'join' } })).toContain(
      'cluster.initialState must be one of the following: "auto", "new", "existing"',
    );
  });

  it('refuses an even or out-of-range replica count with the allowed counts', async () => {
    for (const replicas of [1, 2, 4, 6, 9]) {
      expect(await renderError({ set: { ...DEFAULT_TLS, replicas } })).toContain(
        'replicas must be one of the following: 3, 5, 7',
      );
    }
  });

  it('refuses an unknown value such as replicaz, naming it', async () => {
    expect(await renderError({ set: { ...DEFAULT_TLS, replicaz: 3 } })).toContain(
      'Additional property replicaz is not allowed',
    );
    expect(await renderError({ set: { ...DEFAULT_TLS, 'persistence.sise': '1Gi' } })).toContain(
      'Additional property sise is not allowed',
    );
  });

  it('refuses a fullnameOverride without omnirelay, which the alert rules select the scrape job by', async () => {
    expect(await renderError({ set: { ...DEFAULT_TLS, fullnameOverride: 'leases' } })).toContain(
      'fullnameOverride: Does not match pattern',
    );
    expect(
      await renderChart({ set: { ...DEFAULT_TLS, fullnameOverride: 'omnirelay-east' } }),
    ).not.toHaveLength(0);
  });

  it('refuses TLS without certificates, TLS without client authentication and plaintext not chosen explicitly', async () => {
    expect(await renderError({ set: {} })).toContain(
      'tls.enabled needs certificates: set tls.existingSecret',
    );
    expect(await renderError({ set: { 'tls.existingSecret': 'omnirelay-tls' } })).toContain(
      'client access control is required beyond loopback: set auth.existingSecret',
    );
    expect(
      await renderError({
        set: { 'tls.certManager.enabled': true, 'auth.existingSecret': 'omnirelay-tokens' },
      }),
    ).toContain('tls.certManager.enabled needs tls.certManager.issuerRef.name');
    expect(await renderError({ set: { 'tls.enabled': false } })).toContain('set insecure true as well');
  });

  it('refuses the csi-driver without cert-manager, and a Secret together with cert-manager', async () => {
    expect(await renderError({ set: { ...DEFAULT_TLS, 'tls.certManager.csiDriver': true } })).toContain(
      'tls.certManager.csiDriver needs tls.enabled and tls.certManager.enabled',
    );
    expect(
      await renderError({
        set: { 'tls.enabled': false, insecure: true, 'tls.certManager.csiDriver': true },
      }),
    ).toContain('tls.certManager.csiDriver needs tls.enabled and tls.certManager.enabled');
    for (const mode of [TLS_MODES['cert-manager'], TLS_MODES['cert-manager-csi']]) {
      expect(await renderError({ set: { ...mode, 'tls.existingSecret': 'omnirelay-tls' } })).toContain(
        'tls.existingSecret and tls.certManager.enabled exclude each other',
      );
    }
  });

  it('refuses a Kubernetes older than the chart supports', async () => {
    expect(await renderError({ set: DEFAULT_TLS, kubeVersion: '1.26.9' })).toContain(
      'chart requires kubeVersion: >=1.27.0-0 which is incompatible with Kubernetes v1.26.9',
    );
  });

  it('catches an unknown field and a wrongly typed field in a rendered object', async () => {
    const objects = await renderChart({ set: DEFAULT_TLS });
    const sts = only<RenderedStatefulSet>(objects, 'StatefulSet');
    const misspelt = { ...sts, spec: { ...sts.spec, replicaz: 3 } } as unknown as KubeObject;
    expect(typeErrors([misspelt]).join('\n')).toMatch(/replicaz.*does not exist in type 'IStatefulSetSpec'/);
    const container = sts.spec.template.spec.containers[0]!;
    const badPort = {
      ...sts,
      spec: {
        ...sts.spec,
        template: {
          ...sts.spec.template,
          spec: {
            ...sts.spec.template.spec,
            containers: [{ ...container, ports: [{ name: 'peer', containerPort: 'x' }] }],
          },
        },
      },
    } as unknown as KubeObject;
    expect(schemaErrors([badPort]).join('\n')).toContain('containerPort must be integer');
  });

  it('reports a selector that misses the pods, a probe on a missing port, a short member list and a missing SERVER_NODE_ENV', async () => {
    const objects = await renderChart({ set: DEFAULT_TLS });
    const sts = only<RenderedStatefulSet>(objects, 'StatefulSet');
    const container = sts.spec.template.spec.containers[0]!;
    const broken = {
      ...sts,
      spec: {
        ...sts.spec,
        replicas: 5,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'other' } },
        template: {
          ...sts.spec.template,
          spec: {
            ...sts.spec.template.spec,
            containers: [
              {
                ...container,
                livenessProbe: { httpGet: { path: '/healthz', port: 'admin' } },
                env: container.env?.filter((e) => e.name !== 'MALLOC_ARENA_MAX'),
              },
            ],
          },
        },
      },
    } as unknown as KubeObject;
    const errors = chartInvariantErrors(
      [...objects.filter((o) => o.kind !== 'StatefulSet'), broken],
      'omnirelay',
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        'StatefulSet selector does not match its pod labels',
        "the liveness probe's port admin is not a container port",
        expect.stringMatching(
          /^OMNIRELAY_CHART_MEMBERS_PEER is .*r1-omnirelay-2.*, expected .*r1-omnirelay-4/,
        ),
        'MALLOC_ARENA_MAX is undefined, expected 2 (SERVER_NODE_ENV)',
      ]),
    );
  });

  describe('with the dashboard and the alert rules in files/', () => {
    let chartCopy = '';
    beforeAll(() => {
      chartCopy = join(mkdtempSync(join(tmpdir(), 'omnirelay-chart-')), 'omnirelay');
      cpSync(CHART_DIR, chartCopy, { recursive: true });
      writeFileSync(
        join(chartCopy, 'files/omnirelay-dashboard.json'),
        JSON.stringify({ title: 'OmniRelay', panels: [] }),
      );
      writeFileSync(
        join(chartCopy, 'files/omnirelay-rules.yaml'),
        'groups:\n  - name: omnirelay\n    rules:\n      - alert: OmniRelayNoLeader\n        expr: max(omnirelay_raft_leader) == 0\n        for: 1m\n',
      );
    });
    afterAll(() => rmSync(resolve(chartCopy, '..'), { recursive: true, force: true }));

    it('renders the dashboard ConfigMap for the Grafana sidecar and the PrometheusRule only with the monitoring API', async () => {
      const withApi = await renderChart({ set: DEFAULT_TLS, monitoringApi: true, chartDir: chartCopy });
      const dashboard = only(withApi, 'ConfigMap');
      expect(dashboard.metadata.labels?.['grafana_dashboard']).toBe('1');
      expect(JSON.parse((dashboard['data'] as Record<string, string>)['omnirelay-dashboard.json']!)).toEqual({
        title: 'OmniRelay',
        panels: [],
      });
      const rule = only(withApi, 'PrometheusRule');
      expect((rule['spec'] as { groups: Array<{ name: string }> }).groups.map((g) => g.name)).toEqual([
        'omnirelay',
      ]);
      expect(schemaErrors(withApi)).toEqual([]);
      expect(typeErrors(withApi)).toEqual([]);
      const withoutApi = await renderChart({ set: DEFAULT_TLS, chartDir: chartCopy });
      expect(withoutApi.filter((o) => o.kind === 'PrometheusRule' || o.kind === 'ServiceMonitor')).toEqual(
        [],
      );
      expect(withoutApi.filter((o) => o.kind === 'ConfigMap')).toHaveLength(1);
    });
  });

  it('carries the same dashboard and rules as deploy/grafana and deploy/prometheus', () => {
    for (const [source, copy] of [
      ['deploy/grafana/omnirelay-dashboard.json', 'files/omnirelay-dashboard.json'],
      ['deploy/prometheus/omnirelay-rules.yaml', 'files/omnirelay-rules.yaml'],
    ] as const) {
      const sourcePath = resolve(__dirname, '../../..', source);
      const copyPath = join(CHART_DIR, copy);
      if (!existsSync(sourcePath)) {
        expect(existsSync(copyPath)).toBe(false);
        continue;
      }
      expect({
        copy,
        same: existsSync(copyPath) && readFileSync(copyPath, 'utf8') === readFileSync(sourcePath, 'utf8'),
      }).toEqual({
        copy,
        same: true,
      });
    }
  });
});
