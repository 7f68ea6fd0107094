import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVER_NODE_ENV, SERVER_NODE_FLAGS, freePort } from '@omnirelay/server';
import { stageImage } from './dockerfile-steps';
import { IMAGE_SERVER_MAIN } from './rendered-pod';

/**
 * STAGE_IMAGE runs this test: the Dockerfile's steps take two to four minutes here (npm ci,
 * tsc --build, npm prune), too long for every `npm test`; `OMNIRELAY_STAGE_IMAGE=1 npx jest
 * deploy/helm/test/image-staging.test.ts` runs it.
 */
const STAGE_IMAGE = process.env['OMNIRELAY_STAGE_IMAGE'] === '1';
/** READY_MS bounds how long the staged node takes to answer /readyz. */
const READY_MS = 30_000;

/** httpStatus is the status of GET `path` on 127.0.0.1:`port`, or 0 when nothing answers. */
function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolveStatus) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolveStatus(0));
  });
}

(STAGE_IMAGE ? describe : describe.skip)('the Dockerfile steps run into a staging folder', () => {
  let staging = '';
  let child: ChildProcess | undefined;

  beforeAll(() => {
    staging = mkdtempSync(join(tmpdir(), 'omnirelay-image-'));
  });
  afterAll(async () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      process.kill(child.pid, 'SIGKILL');
      await exited;
    }
    rmSync(staging, { recursive: true, force: true });
  });

  it('builds the runtime layout, from which a node starts, gets ready and stops cleanly on SIGTERM', async () => {
    const { app, skipped } = stageImage(staging);
    expect(skipped.join('\n')).toContain('useradd');
    const http = await freePort();
    child = spawn(
      process.execPath,
      [...SERVER_NODE_FLAGS, join(app, IMAGE_SERVER_MAIN.replace('/app/', ''))],
      {
        cwd: app,
        stdio: 'ignore',
        env: {
          PATH: process.env['PATH'] ?? '',
          // The runtime stage's ENV lines (dockerfile.test.ts checks them against SERVER_NODE_ENV).
          NODE_ENV: 'production',
          ...SERVER_NODE_ENV,
          OMNIRELAY_ID: 'n1',
          OMNIRELAY_DATA_DIR: join(staging, 'data'),
          OMNIRELAY_PEER_ADDRESS: `127.0.0.1:${await freePort()}`,
          OMNIRELAY_CLIENT_ADDRESS: `127.0.0.1:${http}`,
          OMNIRELAY_GRPC_ADDRESS: `127.0.0.1:${await freePort()}`,
          OMNIRELAY_INITIAL_CLUSTER_STATE: 'new',
        },
      },
    );
    const deadline = Date.now() + READY_MS;
    while ((await httpStatus(http, '/readyz')) !== 200) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error('the staged node never got ready');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await httpStatus(http, '/healthz')).toBe(200);
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    process.kill(child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
  }, 600_000);
});
