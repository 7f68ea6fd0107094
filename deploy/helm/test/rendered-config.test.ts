import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@omnirelay/server';
import { issueCa, issueNode } from '../../../packages/cli/src/cert/issue';
import type { RenderedStatefulSet } from './chart-invariants';
import { only } from './chart-invariants';
import { renderChart } from './helm';
import type { LoopbackPorts, PodProcess } from './rendered-pod';
import { expandKubernetesReferences, httpsGet, startPod } from './rendered-pod';

/** TOKEN is the bearer token the test reads /status with (mesh.read in the tokens file). */
const TOKEN = 'omr_rendered-config-test-token-0123456789';
/** START_MS bounds how long the members take to answer their probes and elect a leader. */
const START_MS = 60_000;
/** HANDOFF_MS bounds how long the survivors take to elect a new leader after SIGTERM. */
const HANDOFF_MS = 20_000;
/** POLL_MS is the pause between two polls. */
const POLL_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Status is the part of GET /status read here. */
interface Status {
  readonly id: string;
  readonly role: string;
  readonly leader: string;
}

describe('the rendered StatefulSet run as real processes on loopback', () => {
  let root = '';
  let sts: RenderedStatefulSet;
  let ca: Buffer;
  const pods: PodProcess[] = [];

  const status = async (pod: PodProcess): Promise<Status | undefined> => {
    try {
      const answer = await httpsGet(pod.ports['http']!, '/status', ca, TOKEN);
      return answer.status === 200 ? (JSON.parse(answer.body) as Status) : undefined;
    } catch {
      return undefined;
    }
  };
  const running = (): PodProcess[] =>
    pods.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  const leaderOf = async (among: readonly PodProcess[]): Promise<string | undefined> => {
    const statuses = await Promise.all(among.map(status));
    const leaders = statuses.filter((s) => s?.role === 'leader');
    return leaders.length === 1 ? leaders[0]!.id : undefined;
  };
  const logs = (): string =>
    pods.map((p) => `--- ${p.pod}\n${readFileSync(p.logFile, 'utf8').slice(-2000)}`).join('\n');

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'omnirelay-rendered-'));
    const objects = await renderChart({
      set: { replicas: 3, 'tls.existingSecret': 'omnirelay-tls', 'auth.existingSecret': 'omnirelay-tokens' },
    });
    sts = only<RenderedStatefulSet>(objects, 'StatefulSet');
    const names = Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}`);
    // The Secrets: what `omnirelay cert issue` and `omnirelay token create` write.
    const tlsDir = join(root, 'secret-tls');
    const authDir = join(root, 'secret-auth');
    await issueCa({ outDir: tlsDir, clusterId: 'omnirelay' });
    for (const id of names) await issueNode({ caDir: tlsDir, outDir: tlsDir, id, clusterId: 'omnirelay' });
    ca = readFileSync(join(tlsDir, 'ca.crt'));
    const sha256 = createHash('sha256').update(TOKEN, 'utf8').digest('hex');
    mkdirSync(authDir);
    writeFileSync(
      join(authDir, 'tokens.yaml'),
      `tokens:\n  - name: test\n    sha256: ${sha256}\n    roles: [mesh.read]\n`,
    );
    const ports = new Map<string, LoopbackPorts>();
    for (const id of names)
      ports.set(id, { peer: await freePort(), http: await freePort(), grpc: await freePort() });
    const plan = {
      namespace: 'omnirelay',
      ports,
      mountDir: (pod: string, volume: string): string =>
        volume === 'tls' ? tlsDir : volume === 'auth' ? authDir : join(root, pod, volume),
    };
    for (const id of names) pods.push(startPod(sts, id, plan, join(root, 'logs')));
  }, 60_000);

  afterAll(async () => {
    for (const pod of pods) {
      if (pod.child.pid !== undefined && pod.child.exitCode === null && pod.child.signalCode === null) {
        const exited = new Promise((r) => pod.child.once('exit', r));
        process.kill(pod.child.pid, 'SIGKILL');
        await exited;
      }
    }
    rmSync(root, { recursive: true, force: true });
  });

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
      const container = sts.spec.template.spec.containers[0]!;
      const probes = {
        startup: container.startupProbe!.httpGet!,
        readiness: container.readinessProbe!.httpGet!,
      };
      expect(probes.startup.scheme).toBe('HTTPS');
      const deadline = Date.now() + START_MS;
      for (const probe of [probes.startup, probes.readiness]) {
        for (const pod of pods) {
          let last = 'no answer';
          for (;;) {
            if (Date.now() > deadline) throw new Error(`${pod.pod} ${probe.path}: ${last}\n${logs()}`);
            if (pod.child.exitCode !== null)
              throw new Error(`${pod.pod} exited ${pod.child.exitCode}\n${logs()}`);
            try {
              const answer = await httpsGet(pod.ports[String(probe.port)]!, probe.path, ca);
              if (answer.status === 200) break;
              last = `${answer.status} ${answer.body}`;
            } catch (e) {
              last = e instanceof Error ? e.message : String(e);
            }
            await sleep(POLL_MS * 4);
          }
        }
      }
      expect(await leaderOf(pods)).toMatch(/^r1-omnirelay-[0-2]$/);
      // The probes need no credentials; everything else does.
      expect((await httpsGet(pods[0]!.ports['http']!, '/status', ca)).status).toBe(401);
    },
    START_MS + 5_000,
  );

  it(
    'hands leadership to a survivor after SIGTERM of the leader, which exits 0 within the grace period',
    async () => {
      const leader = await leaderOf(pods);
      expect(leader).toBeDefined();
      const leaderPod = pods.find((p) => p.pod === leader)!;
      const exited = new Promise<number | null>((r) => leaderPod.child.once('exit', (code) => r(code)));
      const graceMs = (sts.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
      const sentAt = Date.now();
      process.kill(leaderPod.child.pid!, 'SIGTERM');
      let successor: string | undefined;
      while (successor === undefined || successor === leader) {
        if (Date.now() - sentAt > HANDOFF_MS)
          throw new Error(`no new leader within ${HANDOFF_MS} ms\n${logs()}`);
        await sleep(POLL_MS);
        successor = await leaderOf(running().filter((p) => p !== leaderPod));
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
      process.stdout.write(
        `rendered-config: SIGTERM to leader ${leader}: ${successor} leads after ${handoffMs} ms ` +
          `(poll every ${POLL_MS} ms; election timeout ${String(sts.spec.template.spec.containers[0]!.env?.find((e) => e.name === 'OMNIRELAY_ELECTION_TIMEOUT_MS')?.value)} ms); exit 0 after ${exitMs} ms\n`,
      );
      for (const pod of running())
        expect((await httpsGet(pod.ports['http']!, '/readyz', ca)).status).toBe(200);
    },
    HANDOFF_MS + 40_000,
  );
});
