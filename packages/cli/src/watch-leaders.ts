import type { LeaseView, OmniRelayClient } from '@omnirelay/client-sdk';
import { isOmniRelayError } from '@omnirelay/client-sdk';
import { oneLine } from './cli-error';
import type { CommandContext } from './context';
import type { ExitCode } from './exit-codes';
import { EXIT } from './exit-codes';
import type { Selection } from './format/leaders';
import { eventJsonLine, eventLine, leadersTable, snapshotJsonLine } from './format/leaders';

/**
 * RESTARTS_MAX bounds how often in a row the watch starts over (re-reads the holders and watches
 * again) after COMPACTED, or after failing to read the holders, without one event in between.
 */
export const RESTARTS_MAX = 10;

/** RESTART_WAIT_MS is the pause before starting over, so a failing cluster is not hammered. */
export const RESTART_WAIT_MS = 1000;

/**
 * readLeaders reads the current holders of the selection: the exact scope by GetLeader, or every
 * held scope under a prefix (all when empty) by ListLeaders, page by page. Both are linearizable.
 */
export async function readLeaders(client: OmniRelayClient, selection: Selection): Promise<LeaseView[]> {
  if (selection.kind === 'scope') {
    const lease = await client.getLeader(selection.scope);
    return lease === null ? [] : [lease];
  }
  return client.allLeaders({ prefix: selection.kind === 'prefix' ? selection.prefix : '' });
}

/**
 * watchLeaders prints the current holders, then every holder change of the selection as it
 * happens (one line each), until the operator stops it (exit 0).
 *
 * No change is missed between the listing and the watch: the watch starts just after the
 * revision a node had applied *before* the listing was read, so a change that the listing
 * already shows may be printed once more, but none is skipped. The SDK's watch resumes by itself
 * across disconnects, leader changes and node restarts; the CLI prints one notice on stderr
 * when the stream breaks. If the revision to resume from was compacted, the CLI says so on
 * stderr, prints the holders again and watches from there (at most RESTARTS_MAX times in a row).
 */
export async function watchLeaders(
  ctx: CommandContext,
  client: OmniRelayClient,
  selection: Selection,
): Promise<ExitCode> {
  const stop = new AbortController();
  const unregister = ctx.io.onStop(() => stop.abort());
  try {
    let failures = 0;
    for (;;) {
      let snapshot: { from: bigint; leases: LeaseView[] } | undefined;
      try {
        snapshot = await untilStopped(readSnapshot(client, selection), stop.signal);
      } catch (e) {
        // The first read reports its error (the cluster may be unreachable); a restart retries.
        if (failures === 0 || failures >= RESTARTS_MAX || !isOmniRelayError(e)) throw e;
        failures++;
        ctx.io.stderr(`${oneLine(`cannot read the holders (${e.code})`, 'trying again')}\n`);
        await wait(RESTART_WAIT_MS, stop.signal);
        continue;
      }
      if (snapshot === undefined) return EXIT.OK;
      ctx.io.stdout(
        ctx.output === 'json'
          ? snapshotJsonLine(snapshot.leases)
          : leadersTable(snapshot.leases, ctx.io.now(), selection),
      );
      // A listed lease's own grant must not print again as a change.
      const shown = new Map(snapshot.leases.map((l) => [l.scope, l.revision]));
      let broken = false;
      try {
        const prefix =
          selection.kind === 'all' ? '' : selection.kind === 'prefix' ? selection.prefix : selection.scope;
        const events = client.watch(prefix, {
          fromRevision: snapshot.from,
          signal: stop.signal,
          onResume: ({ address, fromRevision, error }) => {
            if (broken) return;
            broken = true;
            ctx.io.stderr(
              `${oneLine(`the watch through ${address} broke (${error.code})`, `resuming from revision ${fromRevision} when a node answers`)}\n`,
            );
          },
        });
        for await (const e of events) {
          broken = false;
          failures = 0;
          if (selection.kind === 'scope' && e.scope !== selection.scope) continue;
          const listed = shown.get(e.scope);
          if (listed !== undefined && e.revision <= listed) continue;
          ctx.io.stdout(ctx.output === 'json' ? eventJsonLine(e) : eventLine(e));
        }
        // The SDK's watch only ends without an error when it was stopped.
        return EXIT.OK;
      } catch (e) {
        if (stop.signal.aborted) return EXIT.OK;
        if (!isOmniRelayError(e, 'COMPACTED') || failures >= RESTARTS_MAX) throw e;
        failures++;
        ctx.io.stderr(
          `${oneLine(`events from revision ${snapshot.from} were compacted (COMPACTED)`, 'listing the holders again and watching from there')}\n`,
        );
        await wait(RESTART_WAIT_MS, stop.signal);
      }
      if (stop.signal.aborted) return EXIT.OK;
    }
  } finally {
    unregister();
  }
}

/**
 * readSnapshot reads the revision a node has applied, then the holders: watching from that
 * revision + 1 misses nothing that happened after the listing.
 */
async function readSnapshot(
  client: OmniRelayClient,
  selection: Selection,
): Promise<{ from: bigint; leases: LeaseView[] }> {
  const status = await client.status();
  const leases = await readLeaders(client, selection);
  return { from: status.applied + 1n, leases };
}

/** untilStopped resolves to `work`'s value, or to undefined as soon as `signal` aborts. */
async function untilStopped<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, stopped]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

/** wait pauses `ms`, or less when `signal` aborts. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
