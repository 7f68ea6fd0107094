import type { KvDigest } from '../../src/index';
import type { LocalCluster } from '../../src/index';

/** writeMany sends `count` KV writes to `id` with `concurrency` in flight, returning the acknowledged keys. */
export async function writeMany(
  cluster: LocalCluster,
  id: string,
  prefix: string,
  count: number,
  concurrency: number,
): Promise<string[]> {
  const acked: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const key = `${prefix}-${next++}`;
      const res = await cluster.post(id, '/debug/kv', { key, value: key });
      if (res.status !== 200)
        throw new Error(`write ${key} failed: ${res.status} ${JSON.stringify(res.body)}`);
      acked.push(key);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return acked;
}

/** digest reads what a node applied. */
export async function digest(cluster: LocalCluster, id: string): Promise<KvDigest | undefined> {
  try {
    const res = await cluster.get(id, '/debug/kv/digest', 1000);
    return res.body as KvDigest;
  } catch {
    return undefined;
  }
}

/** waitUntil polls `check` every 20 ms until it returns true, or throws after `timeoutMs` naming `what`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** sameDigestOn waits until every listed node applied exactly `count` commands with one digest. */
export async function sameDigestOn(
  cluster: LocalCluster,
  ids: readonly string[],
  count: number,
): Promise<KvDigest> {
  let last: Array<KvDigest | undefined> = [];
  await waitUntil(
    `${ids.join(',')} to apply ${count} commands`,
    async () => {
      last = await Promise.all(ids.map((id) => digest(cluster, id)));
      return last.every((d) => d !== undefined && d.count === count && d.digest === last[0]?.digest);
    },
    30_000,
  ).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}; last digests: ${JSON.stringify(last)}`);
  });
  return last[0]!;
}
