/**
 * The holder process of workload (f): it takes one scope and keeps it alive, then prints "held" on
 * stdout, and waits to be killed (SIGKILL, by the workload). Argument: a JSON HolderSpec.
 * - OmniRelay: createClient(all endpoints).acquire(scope, { ttlMs, releaseOnResetMs? }); the SDK renews.
 * - etcd: etcd3's Election (the Go client's concurrency recipe) with a session of ttlMs (its minimum, 2 s).
 * With `spec.tls` either client connects over TLS with the bench client certificate.
 * It exits on its own after HOLDER_LIFETIME_MS_MAX so that no holder outlives a broken bench.
 */
import { createClient } from '@omnirelay/client-sdk';
import { Etcd3 } from 'etcd3';
import { etcdCredentials } from './etcd-target';
import type { HolderSpec } from './target';
import { readTls } from './tls-files';

/** HOLDER_LIFETIME_MS_MAX bounds how long a holder lives if nobody kills it. */
const HOLDER_LIFETIME_MS_MAX = 120_000;
/** HOLDER_ACQUIRE_MS_MAX bounds the wait for the scope. */
const HOLDER_ACQUIRE_MS_MAX = 20_000;

function die(message: string): never {
  process.stderr.write(`holder: ${message}\n`);
  process.exit(1);
}

async function holdOmniRelay(spec: HolderSpec): Promise<void> {
  // A short release-on-reset grace (the bench's 100 ms) needs a smaller assumed skew than the
  // default 250 ms: the SDK requires releaseOnResetMs > maxClockSkewMs (loopback: 25 ms is ample).
  const client = createClient({
    endpoints: [...spec.endpoints],
    candidateId: 'holder',
    ...(spec.tls === undefined ? {} : { tls: readTls(spec.tls) }),
    ...(spec.releaseOnResetMs !== undefined
      ? { maxClockSkewMs: Math.min(250, spec.releaseOnResetMs / 4) }
      : {}),
  });
  const lease = await client.acquire(spec.scope, {
    ttlMs: spec.ttlMs,
    ...(spec.releaseOnResetMs !== undefined ? { releaseOnResetMs: spec.releaseOnResetMs } : {}),
  });
  if (lease === null) die(`${spec.scope} is held by someone else`);
}

async function holdEtcd(spec: HolderSpec): Promise<void> {
  const client = new Etcd3({
    hosts: [...spec.endpoints],
    ...etcdCredentials(spec.tls === undefined ? undefined : readTls(spec.tls)),
  });
  const campaign = client.election(spec.scope, Math.ceil(spec.ttlMs / 1000)).campaign('holder');
  await campaign.wait();
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (raw === undefined) die('usage: holder-child.ts <HolderSpec as JSON>');
  const spec = JSON.parse(raw) as HolderSpec;
  setTimeout(() => die(`not killed within ${HOLDER_LIFETIME_MS_MAX} ms`), HOLDER_LIFETIME_MS_MAX).unref();
  const timer = setTimeout(() => die(`no hold within ${HOLDER_ACQUIRE_MS_MAX} ms`), HOLDER_ACQUIRE_MS_MAX);
  await (spec.target === 'etcd' ? holdEtcd(spec) : holdOmniRelay(spec));
  clearTimeout(timer);
  process.stdout.write('held\n');
  // The client's renewals keep this process (and the lease) alive until the workload kills it.
  setInterval(() => undefined, 60_000);
}

main().catch((e: unknown) => die(e instanceof Error ? e.message : String(e)));
