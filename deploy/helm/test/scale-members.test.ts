import type { RenderedStatefulSet } from './chart-invariants';
import { only } from './chart-invariants';
import { renderChart } from './helm';
import { HOOK_JOB_MS, HookJob } from './hook-job';
import { ADMIN_TOKEN, RenderedCluster, SECRET_VALUES } from './rendered-cluster';
import { httpsCall } from './rendered-pod';

/** START_MS bounds how long the five members take to elect a leader. */
const START_MS = 60_000;
/** JOB_MS bounds one run of the hook's script. */
const JOB_MS = HOOK_JOB_MS;

/** HOOK_VALUES turn the scale-down hook on, with a mesh.admin token from Secret omnirelay-admin. */
const HOOK_VALUES = {
  'scaling.removeMembersHook.enabled': true,
  'scaling.tokenSecret.name': 'omnirelay-admin',
};

describe('the pre-upgrade hook that removes members before a scale-down', () => {
  let cluster: RenderedCluster;
  let job: HookJob;
  const runJob = (token: string): ReturnType<HookJob['run']> => job.run(token);

  const members = (): ReturnType<RenderedCluster['members']> => cluster.members();

  beforeAll(async () => {
    cluster = await RenderedCluster.start({ replicas: 5 });
    const objects = await renderChart({
      set: { ...SECRET_VALUES, ...HOOK_VALUES, replicas: 3 },
      upgrade: true,
    });
    job = HookJob.of(cluster, objects, 'r1-omnirelay-remove-members');
    await cluster.waitForProbe(cluster.readinessProbe(), START_MS);
  }, 2 * START_MS);
  afterAll(async () => cluster.stop());

  it('is a pre-upgrade hook, and the StatefulSet has no preStop hook', async () => {
    const objects = await renderChart({ set: { ...SECRET_VALUES, ...HOOK_VALUES } });
    const hooks = objects.filter((o) => o.metadata.name === 'r1-omnirelay-remove-members');
    expect(hooks.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Job']);
    for (const hook of hooks) {
      expect((hook.metadata as { annotations?: Record<string, string> }).annotations?.['helm.sh/hook']).toBe(
        'pre-upgrade',
      );
    }
    const sts = only<RenderedStatefulSet>(objects, 'StatefulSet');
    expect(JSON.stringify(sts)).not.toContain('preStop');
  });

  it(
    'refuses to run without a token with mesh.admin, and changes nothing',
    async () => {
      const run = await runJob('omr_not-a-known-token-0123456789abcdef');
      expect(run.code).toBe(1);
      expect(run.output).toContain('401');
      expect((await members()).members.filter((m) => m.voter)).toHaveLength(5);
    },
    JOB_MS + 5_000,
  );

  it(
    'removes the members beyond the new count, moving leadership off a leaving leader first',
    async () => {
      const leaving = 'r1-omnirelay-4';
      const leader = await cluster.leaderOf();
      const transfer = await httpsCall(
        cluster.pod(leader!).ports['http']!,
        'POST',
        '/cluster/transfer-leader',
        cluster.ca,
        ADMIN_TOKEN,
        { to: leaving },
      );
      expect(transfer.status).toBe(200);
      expect((await members()).leader).toBe(leaving);

      const run = await runJob(ADMIN_TOKEN);
      expect(run).toEqual({
        code: 0,
        output: expect.stringContaining('removed r1-omnirelay-4, r1-omnirelay-3') as unknown,
      });
      expect(run.output).toContain(`leader ${leaving} is leaving; transferring leadership to r1-omnirelay-0`);
      const after = await members();
      expect(after.members.map((m) => m.id).sort()).toEqual([
        'r1-omnirelay-0',
        'r1-omnirelay-1',
        'r1-omnirelay-2',
      ]);
      expect(after.leader).toBe('r1-omnirelay-0');

      // Now the StatefulSet drops pods 3 and 4; the three members keep a leader and stay ready.
      for (const id of ['r1-omnirelay-3', 'r1-omnirelay-4']) {
        const pod = cluster.pod(id);
        const exited = new Promise((r) => pod.child.once('exit', r));
        process.kill(pod.child.pid!, 'SIGTERM');
        await exited;
      }
      await cluster.waitForProbe(cluster.readinessProbe(), START_MS);
      expect(await cluster.leaderOf()).toBe('r1-omnirelay-0');

      const again = await runJob(ADMIN_TOKEN);
      expect(again).toEqual({ code: 0, output: expect.stringContaining('nothing to remove') as unknown });
    },
    START_MS + 3 * JOB_MS,
  );
});
