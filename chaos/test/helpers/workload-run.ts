import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@omnirelay/client-sdk';
import type { LocalCluster } from '@omnirelay/server';
import { useLocalCluster } from '../../../packages/server/test/cluster/cluster-helpers';
import { readRunFolder } from '../../src/read-run';
import type { RunVerdict } from '../../src/run-checks';
import { checkRun } from '../../src/run-checks';
import type { Started } from './processes';
import { exited, startScript, stopAll, waitForLine } from './processes';

/** ChaosCluster is what a describe block of workload runs shares: the cluster, a folder for run folders, the children started. */
export interface ChaosCluster {
  readonly cluster: () => LocalCluster;
  /** root holds the run folders (removed after the block). */
  readonly root: string;
  /** started lists every child process, stopped by PID after the block. */
  readonly started: Started[];
}

/**
 * useChaosCluster gives a describe block a 3-node loopback cluster with a generous election
 * timeout (2 s: the machine is shared), `nodeArgs` before each node's entry, and a 60 s budget
 * per test; after the block every child still running is killed by PID and the folders removed.
 */
export function useChaosCluster(name: string, nodeArgs: readonly string[] = []): ChaosCluster {
  const cluster = useLocalCluster(name, {
    size: 3,
    nodeArgs,
    extraArgs: ['--election-timeout-ms', '2000'],
  });
  const root = mkdtempSync(join(tmpdir(), `omnirelay-${name}-runs-`));
  const started: Started[] = [];
  jest.setTimeout(60_000);
  afterAll(() => {
    stopAll(started);
    rmSync(root, { recursive: true, force: true });
  });
  return { cluster, root, started };
}

/** WorkerSpec is one worker of a test run: its id and seed, and optionally its mode and a self-stop. */
export interface WorkerSpec {
  readonly id: string;
  readonly seed: number;
  readonly mode?: 'mixed' | 'campaign' | 'acquire';
  /** stopBeforeWriteAtMs: the worker stops itself before a write this long into the run. */
  readonly stopBeforeWriteAtMs?: number;
}

/** WorkloadRun describes a short run of the real store and workers against a running cluster. */
export interface WorkloadRun {
  readonly endpoints: readonly string[];
  /** dir is the run folder: the store log, the client histories and the audit go there. */
  readonly dir: string;
  readonly scopes: readonly string[];
  readonly workers: readonly WorkerSpec[];
  readonly durationMs: number;
  readonly ttlMs: number;
  readonly storeArgs?: readonly string[];
  /** pauseMs is how long a worker that stopped itself stays stopped before the run sends SIGCONT. */
  readonly pauseMs?: number;
}

/**
 * runWorkload starts the fenced store and then the workers in order, each once the one before is
 * ready (each tracked in `started`, so the test stops them by PID whatever happens), resumes a worker that stopped itself after `pauseMs`,
 * waits for every worker to finish its duration and exit 0, and stops the store with SIGTERM.
 */
export async function runWorkload(run: WorkloadRun, started: Started[]): Promise<void> {
  const store = startScript('chaos/src/workload/store.ts', [
    '--out',
    join(run.dir, 'store-1.jsonl'),
    ...(run.storeArgs ?? []),
  ]);
  started.push(store);
  const port = (await waitForLine(store, 'listening')).listening as number;
  // One after another, each once ready: the first worker campaigns first.
  const workers: { spec: WorkerSpec; worker: Started }[] = [];
  for (const spec of run.workers) {
    const worker = startScript('chaos/src/workload/worker.ts', [
      ...['--id', spec.id, '--endpoints', run.endpoints.join(','), '--scopes', run.scopes.join(',')],
      ...['--store', `http://127.0.0.1:${port}`, '--out', run.dir, '--seed', String(spec.seed)],
      ...['--duration-ms', String(run.durationMs), '--ttl-ms', String(run.ttlMs)],
      ...(spec.mode === undefined ? [] : ['--mode', spec.mode]),
      ...(spec.stopBeforeWriteAtMs === undefined
        ? []
        : ['--stop-before-write-at-ms', String(spec.stopBeforeWriteAtMs)]),
    ]);
    started.push(worker);
    workers.push({ spec, worker });
    await waitForLine(worker, 'ready', 30_000);
  }
  for (const { spec, worker } of workers) {
    if (spec.stopBeforeWriteAtMs === undefined) continue;
    await waitForLine(worker, 'stopping', run.durationMs);
    await new Promise((r) => setTimeout(r, run.pauseMs ?? 0));
    process.kill(worker.child.pid!, 'SIGCONT');
  }
  for (const { spec, worker } of workers) {
    const code = await exited(worker, run.durationMs + 30_000);
    if (code !== 0)
      throw new Error(`worker ${spec.id} exited ${code}: ${worker.stderr.join('').slice(-1000)}`);
  }
  process.kill(store.child.pid!, 'SIGTERM');
  const code = await exited(store);
  if (code !== 0) throw new Error(`the store exited ${code}: ${store.stderr.join('')}`);
}

/** AUDIT_IDLE_MS: the audit is read back until the watch has been quiet this long. */
const AUDIT_IDLE_MS = 1500;

/**
 * collectAudit reads the committed holder changes of scopes under `prefix` back from revision 1
 * through Watch and writes them to `<dir>/audit.jsonl` in the README's audit format.
 */
export async function collectAudit(
  endpoints: readonly string[],
  dir: string,
  prefix: string,
): Promise<number> {
  const client = createClient({ endpoints });
  const controller = new AbortController();
  let idle = setTimeout(() => controller.abort(), AUDIT_IDLE_MS);
  const lines: string[] = [];
  try {
    for await (const event of client.watch(prefix, { fromRevision: 1n, signal: controller.signal })) {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(), AUDIT_IDLE_MS);
      lines.push(
        JSON.stringify({
          revision: event.revision.toString(),
          scope: event.scope,
          reason: event.reason,
          previousHolder:
            event.previous === null
              ? null
              : { candidateId: event.previous.candidateId, fenceToken: event.previous.fence.toString() },
          holder:
            event.holder === null
              ? null
              : { candidateId: event.holder.candidateId, fenceToken: event.holder.fence.toString() },
        }),
      );
    }
  } finally {
    clearTimeout(idle);
    client.close();
  }
  writeFileSync(join(dir, 'audit.jsonl'), lines.map((l) => `${l}\n`).join(''));
  return lines.length;
}

/**
 * checkedWorkload runs the workload (runWorkload) in a new run folder under `root`, reads the
 * committed holder changes under `auditPrefix` back (collectAudit) and returns every checker's
 * verdict on the folder.
 */
export async function checkedWorkload(
  root: string,
  run: Omit<WorkloadRun, 'dir'>,
  started: Started[],
  auditPrefix: string,
): Promise<RunVerdict['checkers']> {
  const dir = mkdtempSync(join(root, 'run-'));
  await runWorkload({ ...run, dir }, started);
  await collectAudit(run.endpoints, dir, auditPrefix);
  return checkRun(readRunFolder(dir)).checkers;
}
