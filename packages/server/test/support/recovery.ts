import type { CliIo } from '@omnirelay/cli';
import { runCli } from '@omnirelay/cli';
import type { LocalCluster } from '../../src/local-cluster/local-cluster';

/** Run is a finished in-process command: its exit code and what it wrote. */
export interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** cli runs `omnirelay argv` in this process with an empty environment and captured output. */
export async function cli(argv: readonly string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: {},
    now: () => Date.now(),
    onStop: () => () => undefined,
  };
  const code = await runCli(argv, io);
  return { code, out: out.join(''), err: err.join('') };
}

/** acquire grants `scope` to `candidateId` through node `id`'s HTTP API and returns the fence; anything else fails the test. */
export async function acquire(
  cluster: LocalCluster,
  id: string,
  scope: string,
  candidateId: string,
  leaseTtlMs: number,
): Promise<bigint> {
  const res = await cluster.post(id, '/leadership/acquire', { scope, candidateId, leaseTtlMs });
  expect(res.status).toBe(200);
  const body = res.body as { granted: boolean; lease: { fenceToken: string } | null };
  expect(body.granted).toBe(true);
  return BigInt(body.lease!.fenceToken);
}
