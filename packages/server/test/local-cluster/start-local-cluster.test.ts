import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

jest.setTimeout(120_000);

const REPO_ROOT = resolve(__dirname, '../../../..');
const SCRIPT = resolve(__dirname, '../../src/local-cluster/start-local-cluster.ts');

/** LEADER_WAIT_MS bounds the wait for the launcher's "leader:" line (3 nodes start under load). */
const LEADER_WAIT_MS = 60_000;
/** COMMAND_TIMEOUT_MS bounds each printed command the test runs. */
const COMMAND_TIMEOUT_MS = 30_000;

/** Launcher is a running `npm start` (the script, from source) and what it printed so far. */
interface Launcher {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

/** launch runs the launcher with `args`, free ports and its data under `dataRoot`. */
function launch(args: readonly string[], dataRoot: string, env: Record<string, string> = {}): Launcher {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', SCRIPT, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, OMNIRELAY_DATA: dataRoot, OMNIRELAY_BASE_PORT: '0', OMNIRELAY_NODES: '3', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const launcher: Launcher = {
    child,
    stdout: '',
    stderr: '',
    exit: new Promise((r) => child.once('exit', (code) => r(code))),
  };
  child.stdout.on('data', (c: Buffer) => (launcher.stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (launcher.stderr += c.toString('utf8')));
  return launcher;
}

/** waitFor polls the launcher's stdout until `pattern` matches, within LEADER_WAIT_MS. */
async function waitFor(launcher: Launcher, pattern: RegExp): Promise<RegExpExecArray> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  while (Date.now() < deadline) {
    const m = pattern.exec(launcher.stdout);
    if (m !== null) return m;
    if (launcher.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${String(pattern)} in the launcher's output:\n${launcher.stdout}\n${launcher.stderr}`);
}

/** printed is the command after `label:` in the banner, exactly as printed. */
function printed(stdout: string, label: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith(`  ${label}:`));
  if (line === undefined) throw new Error(`no ${label} line in:\n${stdout}`);
  return line.slice(line.indexOf(':') + 1).trim();
}

/** run runs one printed command line in a shell from the repository root, as an operator would. */
function run(commandLine: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', commandLine], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: COMMAND_TIMEOUT_MS,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** childPids lists the launcher's child processes (the nodes), read from /proc. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * stop sends SIGTERM to the launcher by PID and waits for it; any node it failed to stop is then
 * killed by PID too, so nothing outlives the test.
 */
async function stop(launcher: Launcher): Promise<number | null> {
  const pid = launcher.child.pid;
  if (pid === undefined || launcher.child.exitCode !== null) return launcher.child.exitCode;
  const nodes = childPids(pid);
  process.kill(pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    launcher.exit,
    new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), 20_000))),
  ]);
  clearTimeout(timer);
  for (const node of nodes) {
    try {
      process.kill(node, 'SIGKILL');
    } catch {
      // already gone: the launcher stopped it
    }
  }
  if (code === 'hung') {
    process.kill(pid, 'SIGKILL');
    await launcher.exit;
    throw new Error('the launcher did not stop within 20 s of SIGTERM');
  }
  return code;
}

describe('npm start -- --secure', () => {
  const dataRoot = mkdtempSync(join(tmpdir(), 'omnirelay-start-secure-'));
  let launcher: Launcher | undefined;

  afterAll(async () => {
    if (launcher !== undefined) await stop(launcher);
    rmSync(dataRoot, { recursive: true, force: true });
  });

  it('prints curl and CLI lines that work as printed, and refuses plaintext and callers without a certificate', async () => {
    launcher = launch(['--secure'], dataRoot);
    await waitFor(launcher, /^leader: n\d/m);
    const out = launcher.stdout;
    expect(out).toMatch(/^pki: .*ca\.crt: a new CA \(none was found\)$/m);
    expect(out).toMatch(/^TLS on every port: mutual TLS between peers/m);

    const status = run(printed(out, 'status'));
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: 'n1', membership: { voters: ['n1', 'n2', 'n3'] } });

    const acquire = run(printed(out, 'acquire'));
    expect(acquire.status).toBe(0);
    expect(JSON.parse(acquire.stdout)).toMatchObject({
      granted: true,
      lease: { scope: 'global-control', leaderId: 'me' },
    });

    const leaders = run(printed(out, 'leaders'));
    expect(leaders.status).toBe(0);
    expect(leaders.stdout).toContain('"global-control"');

    const cli = run(printed(out, 'cli'));
    // Nothing on stderr, not even Node's warning about a TLS server name that is an IP address.
    expect({ status: cli.status, stderr: cli.stderr }).toEqual({ status: 0, stderr: '' });
    expect(cli.stdout).toMatch(/^global-control\s+me\s+\d+/m);

    // The same port refuses plaintext, and TLS without a client certificate.
    const url = /https:\/\/(127\.0\.0\.1:\d+)\/status/.exec(printed(out, 'status'))![1]!;
    const plaintext = run(`curl -sS --max-time 10 http://${url}/status`);
    expect(plaintext.status).not.toBe(0);
    expect(plaintext.stdout).toBe('');
    const caFile = join(dataRoot, 'pki', 'ca.crt');
    const anonymous = run(`curl -sS --max-time 10 --cacert ${caFile} https://${url}/status`);
    expect(anonymous.status).not.toBe(0);
    expect(anonymous.stdout).toBe('');

    // So does the gRPC port: the CLI without its certificate cannot list the leaders.
    const cliWithoutCert = run(printed(out, 'cli').replace(/ --cert \S+ --key \S+/, ''));
    expect(cliWithoutCert.status).not.toBe(0);
    expect(cliWithoutCert.stdout).toBe('');

    expect(await stop(launcher)).toBe(0);
    expect(launcher.stdout).toMatch(/stopped\.\n$/);
    launcher = undefined;
  });

  it('reuses the CA and certificates on the next start (OMNIRELAY_SECURE=1)', async () => {
    const caBefore = readFileSync(join(dataRoot, 'pki', 'ca.crt'), 'utf8');
    launcher = launch([], dataRoot, { OMNIRELAY_SECURE: '1' });
    await waitFor(launcher, /^leader: n\d/m);
    expect(launcher.stdout).toMatch(/^pki: reusing the CA and certificates in /m);
    expect(readFileSync(join(dataRoot, 'pki', 'ca.crt'), 'utf8')).toBe(caBefore);
    const status = run(printed(launcher.stdout, 'status'));
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: 'n1' });
    expect(await stop(launcher)).toBe(0);
    launcher = undefined;
  });

  it.each([
    [
      'an unknown argument',
      ['--secrue'],
      {},
      /^npm start: unknown argument "--secrue"; the only one is --secure/,
    ],
    [
      'a bad OMNIRELAY_SECURE',
      [],
      { OMNIRELAY_SECURE: 'yes' },
      /^npm start: OMNIRELAY_SECURE must be 1, true, 0 or false, got "yes"/,
    ],
  ])('refuses %s with exit code 2, starting nothing', async (_name, args, env, message) => {
    const refused = launch(args, join(dataRoot, 'refused'), env);
    expect(await refused.exit).toBe(2);
    expect(refused.stderr).toMatch(message);
    expect(refused.stdout).toBe('');
  });
});
