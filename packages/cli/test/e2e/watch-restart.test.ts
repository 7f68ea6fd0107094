import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { OmniRelayClient } from '@omnirelay/client-sdk';
import { createClient } from '@omnirelay/client-sdk';
import { startCli, waitFor } from '../support/run-cli';
import { useLocalCluster } from '../support/local-cluster';

/** BIN is the committed wrapper `npx omnirelay` runs. */
const BIN = join(__dirname, '..', '..', 'bin', 'omnirelay.js');

/** WAIT_MS bounds each wait for output, a node restart, or a process exit. */
const WAIT_MS = 30_000;

describe('omnirelay mesh leaders status --watch', () => {
  const cluster = useLocalCluster('watch');
  let client: OmniRelayClient;

  beforeAll(() => {
    client = createClient({ endpoints: cluster().nodes.map((n) => n.grpcAddress), callTimeoutMs: 10_000 });
  });

  afterAll(() => client?.close());

  it(
    'keeps printing holder changes across a restart of the node it watches through',
    async () => {
      await client.acquire('watch/a', { ttlMs: 60_000, candidateId: 'alpha' });
      const leader = await cluster().waitForLeader(WAIT_MS);
      const watched = cluster().nodes.find((n) => n.id !== leader)!;
      // Only the watched node's endpoint: the watch has nowhere else to go while it is down.
      const run = startCli([
        '--endpoints',
        watched.grpcAddress,
        '--timeout',
        '3000',
        'mesh',
        'leaders',
        'status',
        '--prefix',
        'watch/',
        '--watch',
      ]);
      const detail = (): string =>
        `stdout: ${JSON.stringify(run.stdout())} stderr: ${JSON.stringify(run.stderr())}`;
      try {
        await waitFor(
          'the first table',
          () => /^SCOPE .*\nwatch\/a +alpha /.test(run.stdout()),
          WAIT_MS,
          detail,
        );

        await client.acquire('watch/b', { ttlMs: 60_000, candidateId: 'beta' });
        await waitFor(
          'the grant of watch/b',
          () => /scope=watch\/b reason=granted holder=beta /.test(run.stdout()),
          WAIT_MS,
          detail,
        );

        await cluster().kill(watched.id);
        await waitFor(
          'the notice that the watch broke',
          () => run.stderr().includes('the watch through'),
          WAIT_MS,
          detail,
        );
        cluster().start(watched.id);
        await waitFor(
          'the restarted node to answer',
          async () => (await cluster().status(watched.id)) !== undefined,
          WAIT_MS,
        );

        // A change made after the restart must reach the watch through the restarted node.
        await client.stepDown('watch/a');
        await waitFor(
          'the step-down of watch/a after the restart',
          () =>
            /scope=watch\/a reason=steppedDown holder=- fence=- term=\d+ ttl=- previous=alpha\/\d+\n/.test(
              run.stdout(),
            ),
          WAIT_MS,
          detail,
        );
      } finally {
        run.stop();
      }
      expect(await run.done).toBe(0);
      // Each change printed once: no duplicate of the grant of watch/b after resuming.
      expect(run.stdout().match(/scope=watch\/b reason=granted/g)).toHaveLength(1);
      for (const line of run.stderr().trimEnd().split('\n')) expect(line).toMatch(/^omnirelay: [^;]+; .+$/);
    },
    4 * WAIT_MS,
  );

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'ends with exit 0 on %s when run as a process',
    async (signal) => {
      const endpoints = cluster()
        .nodes.map((n) => n.grpcAddress)
        .join(',');
      const child = spawn(
        process.execPath,
        [BIN, '--endpoints', endpoints, 'mesh', 'leaders', 'status', '--watch'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await waitFor(
          'the first table',
          () => stdout.startsWith('SCOPE ') || stdout.startsWith('no scope'),
          WAIT_MS,
          () => stderr,
        );
        process.kill(child.pid!, signal);
        const code = await Promise.race([
          exited,
          new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), WAIT_MS).unref()),
        ]);
        expect(code).toBe(0);
        expect(stderr).toBe('');
      } finally {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      }
    },
    3 * WAIT_MS,
  );
});
