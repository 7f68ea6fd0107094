import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RenderedStatefulSet } from './chart-invariants';
import { only } from './chart-invariants';
import type { KubeObject } from './helm';
import { HOOK_JOB_MS, HookJob } from './hook-job';
import type { Status } from './rendered-cluster';
import { ADMIN_TOKEN, CSI_VALUES, READ_TOKEN, RenderedCluster } from './rendered-cluster';
import type { PodProcess } from './rendered-pod';
import { httpGet, httpsCall, httpsGet, podEnvironment } from './rendered-pod';

/** START_MS bounds how long the three members take to elect a leader, and the new ones to be ready. */
const START_MS = 45_000;
/** LOG_MS bounds how long the new members take to apply what the leader committed. */
const LOG_MS = 15_000;

/** HOOK_VALUES turn the scale-up hook on, with a mesh.admin token from Secret omnirelay-admin. */
const HOOK_VALUES = {
  'scaling.addMembersHook.enabled': true,
  'scaling.addMembersHook.catchUpTimeoutSeconds': 30,
  'scaling.tokenSecret.name': 'omnirelay-admin',
};

/** StatusIndexes is the part of GET /status that says how much of the log a member holds. */
interface StatusIndexes extends Status {
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
}

/**
 * TLS_LAYOUTS: a Secret with every member's key (the default), and a key per pod from
 * cert-manager's csi-driver (each pod's tls mount holds only its own tls.crt, tls.key and ca.crt).
 */
const TLS_LAYOUTS = [
  ['a Secret holding every key', {}],
  ["cert-manager's csi-driver, a key per pod", CSI_VALUES],
] as const;

describe.each(TLS_LAYOUTS)(
  'the post-upgrade hook that adds members after a scale-up, TLS from %s',
  (_, tlsValues) => {
    let cluster: RenderedCluster;
    let upgrade: KubeObject[];
    let job: HookJob;
    const added = ['r1-omnirelay-3', 'r1-omnirelay-4'];

    const statusOf = async (pod: PodProcess): Promise<StatusIndexes> => {
      const answer = await httpsGet(pod.ports['http']!, '/status', cluster.ca, READ_TOKEN);
      expect(answer.status).toBe(200);
      return JSON.parse(answer.body) as StatusIndexes;
    };

    beforeAll(async () => {
      // helm install: three members, bootstrapping together.
      cluster = await RenderedCluster.start({ replicas: 3, ...tlsValues, ...HOOK_VALUES });
      await cluster.waitForProbe(cluster.readinessProbe(), START_MS);
      // helm upgrade --set replicas=5: the StatefulSet controller creates pods 3 and 4 from the
      // upgraded spec; it rolls the running three only once those are ready.
      upgrade = await cluster.startUpgraded({ replicas: 5, ...tlsValues, ...HOOK_VALUES });
      job = HookJob.of(cluster, upgrade, 'r1-omnirelay-add-members');
      // Started (the startup probe passes), but not ready: they know no leader.
      const newPods = added.map((id) => cluster.pod(id));
      await cluster.waitForProbe(cluster.probe('startupProbe'), START_MS, 200, newPods);
    }, 3 * START_MS);
    afterAll(async () => cluster.stop());

    it('starts the pods of an upgrade under initialState existing, so that they wait to be added', async () => {
      const env = (sts: RenderedStatefulSet): string | undefined =>
        sts.spec.template.spec.containers[0]!.env?.find((e) => e.name === 'OMNIRELAY_INITIAL_CLUSTER_STATE')
          ?.value;
      expect(cluster.csi).toBe(tlsValues === CSI_VALUES);
      if (cluster.csi) {
        // Each pod reads the files the csi-driver writes, from a mount that holds nothing else.
        for (const pod of cluster.pods) {
          const tls = cluster.plan.mountDir(pod.pod, 'tls');
          expect(readdirSync(tls).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
          expect(podEnvironment(cluster.sts, pod.pod, cluster.plan).get('OMNIRELAY_PEER_TLS_KEY')).toBe(
            join(tls, 'tls.key'),
          );
        }
      }
      expect(env(cluster.sts)).toBe('new');
      expect(env(only<RenderedStatefulSet>(upgrade, 'StatefulSet'))).toBe('existing');
      const hooks = upgrade.filter((o) => o.metadata.name === 'r1-omnirelay-add-members');
      expect(
        hooks.map(
          (o) => (o.metadata as { annotations?: Record<string, string> }).annotations?.['helm.sh/hook'],
        ),
      ).toEqual(['post-upgrade', 'post-upgrade']);
      // Waiting: no leader known, not ready, not members.
      for (const id of added) {
        expect((await statusOf(cluster.pod(id))).leader).toBe('');
        const readiness = cluster.readinessProbe();
        const port = cluster.pod(id).ports[String(readiness.port)]!;
        expect((await httpGet(port, readiness.path)).status).toBe(503);
      }
      expect((await cluster.members()).members.map((m) => m.id).sort()).toEqual([
        'r1-omnirelay-0',
        'r1-omnirelay-1',
        'r1-omnirelay-2',
      ]);
    });

    it(
      'refuses to run without a token with mesh.admin, and changes nothing',
      async () => {
        const run = await job.run(READ_TOKEN);
        expect(run.code).toBe(1);
        expect(run.output).toContain('POST /cluster/add-learner: 403');
        expect(run.output).toContain('scaling.tokenSecret must hold a token with mesh.admin');
        expect(run.output).toContain('nothing after this was changed');
        const after = await cluster.members();
        expect(after.members.map((m) => [m.id, m.voter])).toEqual([
          ['r1-omnirelay-0', true],
          ['r1-omnirelay-1', true],
          ['r1-omnirelay-2', true],
        ]);
      },
      HOOK_JOB_MS + 5_000,
    );

    it(
      'adds each new pod as a learner and promotes it once caught up, one at a time, until five voters hold the log',
      async () => {
        // The member behind the client Service follows, so the Job must read the replication
        // progress at the leader's own address.
        if ((await cluster.members()).leader === 'r1-omnirelay-0') {
          const leader = cluster.pod('r1-omnirelay-0');
          const transfer = await httpsCall(
            leader.ports['http']!,
            'POST',
            '/cluster/transfer-leader',
            cluster.ca,
            ADMIN_TOKEN,
            { to: 'r1-omnirelay-2' },
          );
          expect(transfer.status).toBe(200);
        }
        expect((await cluster.members()).nodeId).not.toBe((await cluster.members()).leader);
        const run = await job.run(ADMIN_TOKEN);
        expect(run).toEqual({
          code: 0,
          output: expect.stringContaining('added r1-omnirelay-3, r1-omnirelay-4') as unknown,
        });
        // In ordinal order, one change at a time.
        const lines = run.output.split('\n');
        const at = (text: string): number => lines.findIndex((l) => l.includes(text));
        const steps = [
          'adding r1-omnirelay-3 as a learner',
          'promoted r1-omnirelay-3 to voter',
          'adding r1-omnirelay-4 as a learner',
          'promoted r1-omnirelay-4 to voter',
        ].map(at);
        expect(steps.every((i) => i >= 0)).toBe(true);
        expect([...steps].sort((a, b) => a - b)).toEqual(steps);

        const after = await cluster.members();
        expect(
          after.members
            .filter((m) => m.voter)
            .map((m) => m.id)
            .sort(),
        ).toEqual(['r1-omnirelay-0', 'r1-omnirelay-1', 'r1-omnirelay-2', ...added]);
        // The new members hold the log: each applies everything the leader had committed.
        const leader = cluster.pod(after.leader);
        const committed = (await statusOf(leader)).commit;
        const deadline = Date.now() + LOG_MS;
        for (const id of added) {
          let status = await statusOf(cluster.pod(id));
          while (status.applied < committed && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 200));
            status = await statusOf(cluster.pod(id));
          }
          expect({ id, applied: status.applied >= committed, leader: status.leader }).toEqual({
            id,
            applied: true,
            leader: after.leader,
          });
        }
        // Now ready, so the StatefulSet controller can roll the others; a second run adds nothing.
        await cluster.waitForProbe(
          cluster.readinessProbe(),
          START_MS,
          200,
          added.map((id) => cluster.pod(id)),
        );
        const again = await job.run(ADMIN_TOKEN);
        expect(again).toEqual({
          code: 0,
          output: expect.stringContaining('all 5 members are voters; nothing to add') as unknown,
        });
      },
      2 * HOOK_JOB_MS + START_MS + LOG_MS,
    );

    it(
      'names the member and what to do when a new pod does not catch up, and leaves it a learner',
      async () => {
        // helm upgrade --set replicas=7, and pods 5 and 6 never start (say, no image to pull).
        const seven = await cluster.startUpgraded(
          { replicas: 7, ...tlsValues, ...HOOK_VALUES, 'scaling.addMembersHook.catchUpTimeoutSeconds': 10 },
          ['r1-omnirelay-5', 'r1-omnirelay-6'],
        );
        const run = await HookJob.of(cluster, seven, 'r1-omnirelay-add-members').run(ADMIN_TOKEN);
        expect(run.code).toBe(1);
        expect(run.output).toContain('adding r1-omnirelay-5 as a learner');
        expect(run.output).toContain('waiting for r1-omnirelay-5 to catch up: match 0');
        expect(run.output).toMatch(
          /r1-omnirelay-5 did not catch up within 10000 ms \(match 0, \d+ entries behind\); it stays a learner/,
        );
        expect(run.output).toContain('kubectl logs r1-omnirelay-5');
        expect(run.output).toContain('POST /cluster/remove {"id":"r1-omnirelay-5"}');
        expect(run.output).not.toContain('adding r1-omnirelay-6');
        const after = await cluster.members();
        expect(after.members.filter((m) => !m.voter).map((m) => m.id)).toEqual(['r1-omnirelay-5']);
        expect(after.members.filter((m) => m.voter)).toHaveLength(5);
      },
      HOOK_JOB_MS + 5_000,
    );
  },
);
