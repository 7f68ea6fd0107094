import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { STORAGE_ERROR_CODES } from '@omnirelay/raft';
import { SERVER_EXIT, STORAGE_EXIT_CODES } from '../src/errors/exit-codes';
import { LocalCluster } from '../src/index';
import { soloServerArgs } from './support/single-node';

jest.setTimeout(90_000);

const MAIN = resolve(__dirname, '../src/main.ts');
/** NOBODY is the unprivileged user the access-denied case runs the server as (when the test runs as root). */
const NOBODY = 65534;
const dirs: string[] = [];

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-main-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * runServer starts the server's main module on `dataDir` with free ports and resolves with its
 * exit code and stderr once it exits; a server still running after 30 s is SIGKILLed by PID.
 */
async function runServer(dataDir: string, uid?: number): Promise<{ code: number | null; stderr: string }> {
  const args = ['-r', '@swc-node/register', MAIN, ...(await soloServerArgs('n1', dataDir))];
  const child = spawn(process.execPath, args, {
    cwd: resolve(__dirname, '../../..'),
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const guard = setTimeout(() => process.kill(child.pid!, 'SIGKILL'), 30_000);
  return new Promise((resolveRun) =>
    child.on('close', (code) => {
      clearTimeout(guard);
      resolveRun({ code, stderr });
    }),
  );
}

describe('the exit codes of the server process (issue 15 item 9)', () => {
  it('gives every storage error its own exit code, apart from 0, 1 and 2', () => {
    const codes = STORAGE_ERROR_CODES.map((c) => STORAGE_EXIT_CODES[c]);
    expect(new Set(codes).size).toBe(STORAGE_ERROR_CODES.length);
    for (const code of codes) expect(Object.values(SERVER_EXIT)).not.toContain(code);
  });

  it('exits with 11 and says the store is in use when another node holds its data folder', async () => {
    const dataRoot = freshDir();
    const cluster = await LocalCluster.create({ size: 1, dataRoot, basePort: 0, logLevel: 'warn' });
    cluster.startAll();
    try {
      await cluster.waitForLeader(20_000);
      const second = await runServer(cluster.node('n1').dataDir);
      expect(second.code).toBe(STORAGE_EXIT_CODES.STORAGE_LOCKED);
      expect(second.code).toBe(11);
      expect(second.stderr).toMatch(/is in use by another process.*do not move it aside/);
      // The first node was not disturbed.
      expect(await cluster.leader()).toBe('n1');
    } finally {
      await cluster.stopAll();
    }
  });

  it('exits with 13 when the data folder is under a regular file', async () => {
    const file = join(freshDir(), 'file');
    writeFileSync(file, 'not a folder');
    const run = await runServer(join(file, 'n1'));
    expect(run.code).toBe(13);
    expect(run.stderr).toMatch(/cannot hold a Raft store.*regular file/);
  });

  it('exits with 10 and the advice to move the folder aside when LevelDB finds the store damaged', async () => {
    const dataRoot = freshDir();
    const dataDir = join(dataRoot, 'n1');
    const cluster = await LocalCluster.create({ size: 1, dataRoot, basePort: 0 });
    cluster.startAll();
    try {
      await cluster.waitForLeader(20_000);
    } finally {
      await cluster.stopAll();
    }
    const manifest = readdirSync(dataDir).find((f) => f.startsWith('MANIFEST-'))!;
    writeFileSync(join(dataDir, manifest), Buffer.alloc(200, 0xab));
    const run = await runServer(dataDir);
    expect(run.code).toBe(10);
    expect(run.stderr).toMatch(/is corrupt.*move \S+ aside/);
  });

  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  asRoot('exits with 12 when the user it runs as may not write the data folder', async () => {
    const parent = freshDir();
    chmodSync(parent, 0o755); // nobody may enter it, not create anything in it
    const run = await runServer(join(parent, 'n1'), NOBODY);
    expect(run.code).toBe(12);
    expect(run.stderr).toMatch(/may not read or write.*permission denied/i);
  });
});
