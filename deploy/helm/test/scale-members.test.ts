import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RenderedContainer, RenderedStatefulSet } from './chart-invariants';
import { only } from './chart-invariants';
import { renderChart } from './helm';
import { ADMIN_TOKEN, NAMESPACE, RenderedCluster, SECRET_VALUES } from './rendered-cluster';
import { containerEnvironment, httpsCall, httpsGet, localPath } from './rendered-pod';

/** START_MS bounds how long the five members take to elect a leader. */
const START_MS = 60_000;
/** JOB_MS bounds one run of the hook's script. */
const JOB_MS = 60_000;

/** HOOK_VALUES turn the scale-down hook on, with a mesh.admin token from Secret omnirelay-admin. */
const HOOK_VALUES = {
  'scaling.removeMembersHook.enabled': true,
  'scaling.removeMembersHook.tokenSecret.name': 'omnirelay-admin',
};

/** JobRun is how a run of the hook's container ended. */
interface JobRun {
  readonly code: number | null;
  readonly output: string;
}

/** Members is the part of GET /cluster/members read here. */
interface Members {
  readonly leader: string;
  readonly members: ReadonlyArray<{ readonly id: string; readonly voter: boolean }>;
}

describe('the pre-upgrade hook that removes members before a scale-down', () => {
  let cluster: RenderedCluster;
  let job: RenderedContainer;
  let jobDir = '';

  /** runJob runs the hook's container as the kubelet would, with `token` in its token Secret. */
  const runJob = async (token: string): Promise<JobRun> => {
    writeFileSync(join(jobDir, 'token', 'token'), `${token}\n`);
    const http = cluster.pods[0]!.ports['http']!;
    const mountDir = (volume: string): string =>
      volume === 'tls' ? cluster.secretDirs.tls : join(jobDir, volume);
    const env = containerEnvironment(job, {
      podName: 'r1-omnirelay-scale-members',
      mountDir,
      address: (host, port) => {
        // The client Service: any member (a follower forwards the changes to the leader).
        if (host !== `r1-omnirelay.${NAMESPACE}.svc.cluster.local` || port !== 7201)
          throw new Error(`${host}:${port}?`);
        return `127.0.0.1:${http}`;
      },
    });
    const [command, ...args] = (job.command ?? []).map((arg) => localPath(job, arg, mountDir));
    expect(command).toBe('node');
    // The script's URL names the Service; the certificates name localhost and 127.0.0.1.
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
        }, JOB_MS);
      }),
    ]);
    clearTimeout(timer);
    return { code, output };
  };

  const members = async (): Promise<Members> => {
    const answer = await httpsGet(
      cluster.pods[0]!.ports['http']!,
      '/cluster/members',
      cluster.ca,
      ADMIN_TOKEN,
    );
    expect(answer.status).toBe(200);
    return JSON.parse(answer.body) as Members;
  };

  beforeAll(async () => {
    cluster = await RenderedCluster.start({ replicas: 5 });
    const objects = await renderChart({ set: { ...SECRET_VALUES, ...HOOK_VALUES, replicas: 3 } });
    const jobObject = only(objects, 'Job');
    job = (jobObject['spec'] as { template: { spec: { containers: RenderedContainer[] } } }).template.spec
      .containers[0]!;
    jobDir = join(cluster.root, 'scale-members-job');
    mkdirSync(join(jobDir, 'token'), { recursive: true });
    mkdirSync(join(jobDir, 'script'), { recursive: true });
    const script = only(objects, 'ConfigMap', 'r1-omnirelay-scale-members')['data'] as Record<string, string>;
    writeFileSync(join(jobDir, 'script', 'scale-members.js'), script['scale-members.js']!);
    await cluster.waitForProbe(cluster.readinessProbe(), START_MS);
  }, 2 * START_MS);
  afterAll(async () => cluster.stop());

  it('is a pre-upgrade hook, and the StatefulSet has no preStop hook', async () => {
    const objects = await renderChart({ set: { ...SECRET_VALUES, ...HOOK_VALUES } });
    for (const hook of objects.filter((o) => o.metadata.name === 'r1-omnirelay-scale-members')) {
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
