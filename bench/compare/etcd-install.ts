/**
 * ensureEtcd finds the `etcd` binary, installing Debian's `etcd-server` package (etcd 3.4) with apt
 * when it is missing, and reports its version.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { progress } from '../support/stats';

/** APT_INSTALL_MS_MAX bounds each apt-get step. */
const APT_INSTALL_MS_MAX = 600_000;

/** SetupError is a problem the user fixes (a missing program, a bad option): it is reported in one line, without a stack. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}

/** EtcdBinary is the etcd executable the bench runs. */
export interface EtcdBinary {
  readonly path: string;
  readonly version: string;
}

function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = r.stdout.trim();
  return r.status === 0 && found !== '' ? found : undefined;
}

function versionOf(path: string): string {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const m = /etcd Version:\s*(\S+)/.exec(r.stdout);
  if (m === null) throw new Error(`${path} --version did not print a version: ${r.stdout}${r.stderr}`);
  return m[1]!;
}

/** runStep runs one command, forwarding its output to stderr as progress, with a deadline. */
function runStep(command: string, args: readonly string[]): Promise<void> {
  progress(`$ ${command} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    const forward = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') progress(`  ${line}`);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    const timer = setTimeout(() => child.kill('SIGKILL'), APT_INSTALL_MS_MAX);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${String(code)}`})`));
    });
  });
}

/** ensureEtcd returns the etcd binary, installing `etcd-server` with apt-get (as root) when it is missing. */
export async function ensureEtcd(): Promise<EtcdBinary> {
  const existing = which('etcd') ?? (existsSync('/usr/bin/etcd') ? '/usr/bin/etcd' : undefined);
  if (existing !== undefined) return { path: existing, version: versionOf(existing) };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || which('apt-get') === undefined) {
    throw new SetupError(
      'etcd is not installed: install etcd 3.4 (Debian/Ubuntu: `sudo apt-get install etcd-server`) so that `etcd` is on PATH, then rerun',
    );
  }
  progress('etcd not found: installing Debian package etcd-server with apt-get');
  await runStep('apt-get', ['update']);
  await runStep('apt-get', ['install', '-y', '--no-install-recommends', 'etcd-server']);
  const installed = which('etcd') ?? (existsSync('/usr/bin/etcd') ? '/usr/bin/etcd' : undefined);
  if (installed === undefined)
    throw new Error('apt-get installed etcd-server but no `etcd` binary is on PATH');
  return { path: installed, version: versionOf(installed) };
}
