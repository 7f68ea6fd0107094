import { RenderedCluster } from './rendered-cluster';
import { expandKubernetesReferences, httpGet, httpsGet } from './rendered-pod';

/** START_MS bounds how long the members take to answer their probes and elect a leader. */
const START_MS = 60_000;
/** HANDOFF_MS bounds how long the survivors take to elect a new leader after SIGTERM. */
const HANDOFF_MS = 20_000;
/** POLL_MS is the pause between two polls for the new leader. */
const POLL_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the rendered StatefulSet run as real processes on loopback', () => {
  let cluster: RenderedCluster;

  beforeAll(async () => {
    cluster = await RenderedCluster.start({ replicas: 3 });
  }, 60_000);
  afterAll(async () => cluster.stop());

  it('expands $(VAR) references as the kubelet does', () => {
    const defined = new Map([['OMNIRELAY_ID', 'r1-omnirelay-0']]);
    expect(expandKubernetesReferences('/tls/$(OMNIRELAY_ID).crt', defined)).toBe('/tls/r1-omnirelay-0.crt');
    expect(expandKubernetesReferences('$(UNDEFINED) $$(OMNIRELAY_ID)', defined)).toBe(
      '$(UNDEFINED) $(OMNIRELAY_ID)',
    );
  });

  it(
    'answers the startup and liveness probe path, then readiness once a leader is elected, on every member',
    async () => {
      const container = cluster.sts.spec.template.spec.containers[0]!;
      const startup = container.startupProbe!.httpGet!;
      const readiness = container.readinessProbe!.httpGet!;
      await cluster.waitForProbe(startup, START_MS);
      await cluster.waitForProbe(readiness, START_MS);
      expect(await cluster.leaderOf()).toMatch(/^r1-omnirelay-[0-2]$/);
      // The metrics port serves probes and metrics without credentials; the client port needs them.
      const first = cluster.pods[0]!;
      expect((await httpGet(first.ports['metrics']!, '/metrics')).body).toContain('omnirelay_');
      expect((await httpsGet(first.ports['http']!, '/status', cluster.ca)).status).toBe(401);
      expect((await httpsGet(first.ports['http']!, '/metrics', cluster.ca)).status).toBe(401);
    },
    2 * START_MS + 5_000,
  );

  it(
    'hands leadership to a survivor after SIGTERM of the leader, which exits 0 within the grace period',
    async () => {
      const leader = await cluster.leaderOf();
      expect(leader).toBeDefined();
      const leaderPod = cluster.pod(leader!);
      const exited = new Promise<number | null>((r) => leaderPod.child.once('exit', (code) => r(code)));
      const spec = cluster.sts.spec.template.spec;
      const graceMs = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
      const sentAt = Date.now();
      process.kill(leaderPod.child.pid!, 'SIGTERM');
      let successor: string | undefined;
      while (successor === undefined || successor === leader) {
        if (Date.now() - sentAt > HANDOFF_MS)
          throw new Error(`no new leader within ${HANDOFF_MS} ms\n${cluster.logs()}`);
        await sleep(POLL_MS);
        successor = await cluster.leaderOf(cluster.running().filter((p) => p !== leaderPod));
      }
      const handoffMs = Date.now() - sentAt;
      let graceTimer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise(
          (r) => (graceTimer = setTimeout(() => r('still running after the grace period'), graceMs)),
        ),
      ]);
      clearTimeout(graceTimer);
      const exitMs = Date.now() - sentAt;
      expect(code).toBe(0);
      expect(exitMs).toBeLessThan(graceMs);
      const electionTimeout = spec.containers[0]!.env?.find(
        (e) => e.name === 'OMNIRELAY_ELECTION_TIMEOUT_MS',
      )?.value;
      process.stdout.write(
        `rendered-config: SIGTERM to leader ${leader}: ${successor} leads after ${handoffMs} ms ` +
          `(poll every ${POLL_MS} ms; election timeout ${String(electionTimeout)} ms); exit 0 after ${exitMs} ms\n`,
      );
      for (const pod of cluster.running()) {
        expect((await httpGet(pod.ports['metrics']!, '/readyz')).status).toBe(200);
      }
    },
    HANDOFF_MS + 40_000,
  );
});

describe('the rendered StatefulSet with client certificates required', () => {
  let cluster: RenderedCluster;

  beforeAll(async () => {
    cluster = await RenderedCluster.start({ replicas: 3, 'tls.clientCertAuth': true });
  }, 60_000);
  afterAll(async () => cluster.stop());

  it(
    "passes the kubelet's probes, which present no client certificate",
    async () => {
      const container = cluster.sts.spec.template.spec.containers[0]!;
      await cluster.waitForProbe(container.startupProbe!.httpGet!, START_MS);
      await cluster.waitForProbe(container.readinessProbe!.httpGet!, START_MS);
      // The client port itself refuses a caller without a certificate at the handshake.
      await expect(httpGet(cluster.pods[0]!.ports['http']!, '/healthz', true)).rejects.toThrow();
    },
    2 * START_MS + 5_000,
  );
});
