/**
 * A holder process for the SIGSTOP test: it acquires a scope, then on stdin commands checks its
 * lease (`prepare`) and later sends the write it prepared (`write`) to a fenced store, without
 * checking again, as a process paused between its check and its write would. It reports on
 * stdout as JSON lines: held, prepared, lost, wrote. Optional arguments after the store URL:
 * releaseOnResetMs and maxClockSkewMs.
 */
import { createInterface } from 'node:readline';
import { createClient } from '../../src/index';

const [endpoints, scope, ttl, storeUrl, releaseOnReset, skew] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string | undefined,
  string | undefined,
];

function report(event: object): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function main(): Promise<void> {
  const client = createClient({
    endpoints: endpoints.split(','),
    candidateId: 'paused-holder',
    ...(skew === undefined ? {} : { maxClockSkewMs: Number(skew) }),
  });
  const lease = await client.acquire(scope, {
    ttlMs: Number(ttl),
    ...(releaseOnReset === undefined ? {} : { releaseOnResetMs: Number(releaseOnReset) }),
  });
  if (lease === null) throw new Error(`${scope} is held by someone else`);
  lease.signal.addEventListener('abort', () => report({ event: 'lost', reason: lease.endedReason }));
  report({ event: 'held', fence: lease.fence.toString() });
  let prepared: { fence: string; value: string } | undefined;
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'prepare') {
      prepared = { fence: lease.fence.toString(), value: `written by the first holder` };
      report({ event: 'prepared', valid: lease.isValid() });
    } else if (line === 'write' && prepared !== undefined) {
      const res = await fetch(storeUrl, {
        method: 'POST',
        body: JSON.stringify({ scope, ...prepared }),
        signal: AbortSignal.timeout(5000),
      });
      report({ event: 'wrote', status: res.status, body: await res.json() });
    } else if (line === 'exit') {
      break;
    }
  }
  client.close();
}

main().catch((e: unknown) => {
  report({ event: 'error', message: String(e) });
  process.exit(1);
});
