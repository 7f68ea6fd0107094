import type { ClustersView, OmniRelayClient } from '@omnirelay/client-sdk';
import { isOmniRelayError } from '@omnirelay/client-sdk';
import { randomUUID } from 'node:crypto';
import type { CommandContext } from '../context';
import type { ExitCode } from '../exit-codes';
import { EXIT } from '../exit-codes';
import type { PromoteOptions } from './cluster-failover';
import {
  CATCH_UP_POLL_MS,
  FAILED_DETAIL_CHARS_MAX,
  FailoverAudit,
  descriptorOf,
  passiveView,
  promote,
  refuseUnlessCluster,
  refused,
} from './cluster-failover';

/**
 * FORCE_PROBE_TIMEOUT_MS bounds promote --force's one probe of the active cluster it replaces
 * (capped at --timeout): with --force the operator says that cluster is down, so each of its
 * endpoints is asked once, all together, and an endpoint that neither answers nor refuses within
 * this time counts as down, instead of retrying until --timeout.
 */
export const FORCE_PROBE_TIMEOUT_MS = 500;

/**
 * probeFailure is how one endpoint failed the probe, in a few words: its code and, for the two
 * ways a dead cluster fails (nothing listens, or nothing answers), what that means.
 */
function probeFailure(e: unknown, timeoutMs: number): string {
  if (!isOmniRelayError(e)) return 'INTERNAL';
  if (e.code === 'DEADLINE_EXCEEDED') return `DEADLINE_EXCEEDED: no answer within ${timeoutMs} ms`;
  if (e.code === 'UNAVAILABLE' && e.message.includes('ECONNREFUSED'))
    return 'UNAVAILABLE: connection refused';
  return e.code;
}

/** ProbeResult is what the one probe of the active cluster found: the first answer, or every endpoint's failure. */
export type ProbeResult =
  | { readonly answered: true; readonly endpoint: string; readonly view: ClustersView }
  | { readonly answered: false; readonly failures: readonly string[] };

/**
 * probeActive asks each of `endpoints` once, in parallel, for its cluster's Clusters state (read on
 * its Raft leader: a node of a cluster without a leader does not answer), within `timeoutMs`
 * each, and reports whether any of them answered.
 */
export async function probeActive(
  ctx: CommandContext,
  endpoints: readonly string[],
  timeoutMs: number,
): Promise<ProbeResult> {
  return ctx.withClient(async (probe) => {
    const outcomes = await Promise.all(
      endpoints.map((endpoint) =>
        probe.clusters({ address: endpoint, timeoutMs }).then(
          (view) => ({ endpoint, view }),
          (e: unknown) => ({ endpoint, error: probeFailure(e, timeoutMs) }),
        ),
      ),
    );
    for (const o of outcomes) if ('view' in o) return { answered: true, endpoint: o.endpoint, view: o.view };
    return {
      answered: false,
      failures: outcomes.flatMap((o) => ('error' in o ? [`${o.endpoint} ${o.error}`] : [])),
    };
  }, endpoints);
}

/** knownEpochMax is the highest failover epoch `view` knows: its own and every descriptor's. */
function knownEpochMax(view: ClustersView): number {
  return Math.max(view.failoverEpoch, ...view.clusters.map((c) => c.failoverEpoch));
}

/** supersededBy is the active peer promoted above `view`'s cluster while it is still active, if any. */
function supersededBy(view: ClustersView): string | undefined {
  if (view.state !== 'active') return undefined;
  const above = view.clusters
    .filter((c) => !c.local && c.state === 'active' && c.failoverEpoch > view.failoverEpoch)
    .sort((a, b) => b.failoverEpoch - a.failoverEpoch);
  return above[0]?.clusterId;
}

/**
 * forcePromote runs an emergency failover to the passive cluster `id` that `ctx`'s endpoints
 * reach, whose active cluster does not answer:
 *
 * 1. preflight: `id` is passive or draining and knows its active peer; that peer does not answer
 *    at its descriptor's endpoints, each asked once, together, within FORCE_PROBE_TIMEOUT_MS (when
 *    one answers, the promotion is refused: run the planned failover without --force, which loses
 *    nothing); the step names what each endpoint said;
 * 2. warning (stderr and a step): what may be lost. Known: the mirror holds the active cluster up
 *    to revision V of its version vector, and when the replicator last heard from it; not known:
 *    how many holder changes the active made after V (it is unreachable), so every change after
 *    V may be lost;
 * 3. promote: `id` turns active with a failover epoch above every epoch it knows of (its own,
 *    every descriptor's; the cluster also checks its mirror's fences), so its first fence
 *    dominates every fence the old active could have granted;
 * 4. record: `id` records the old active as passive at its epoch (the old active finds out by
 *    itself when it comes back, from `id`'s descriptor, and grants nothing until a failback).
 */
export async function forcePromote(ctx: CommandContext, id: string): Promise<ExitCode> {
  const correlationId = `promote-force-${randomUUID()}`;
  const reason = `emergency failover to ${id} (${correlationId})`;
  const audit = new FailoverAudit(ctx, 'promote --force', id, correlationId, reason);
  const step = (name: string, detail: string): Promise<void> => audit.step(name, detail);
  return ctx.withClient(async (target) => {
    audit.reach(target);
    return audit.run(async () => {
      const before = passiveView(await target.clusters(), id);
      const activeId = before.following;
      const active = before.clusters.find((c) => c.clusterId === activeId && !c.local);
      if (activeId === '' || active === undefined) {
        throw refused(
          `cluster ${id} follows no active cluster`,
          "set it active with 'omnirelay mesh clusters set --id <id> --state active --epoch <n>' if no other cluster is active",
        );
      }
      let unreachable = 'it has no endpoints: nothing to probe';
      if (active.endpoints.length > 0) {
        const probeMs = Math.min(FORCE_PROBE_TIMEOUT_MS, ctx.timeoutMs);
        const probe = await probeActive(ctx, active.endpoints, probeMs);
        if (probe.answered) {
          throw refused(
            `preflight: the active cluster ${activeId} answers at ${probe.endpoint} (${probe.view.clusterId} is ${probe.view.state} in failover epoch ${probe.view.failoverEpoch}); an emergency failover would lose what it has not replicated`,
            `run the planned failover without --force: 'omnirelay mesh clusters promote ${id}'`,
          );
        }
        unreachable = `probed once at its ${active.endpoints.length} endpoint(s) within ${probeMs} ms, none answered: ${probe.failures.join('; ')}`;
      }
      await step(
        'preflight',
        `${id} is ${before.state}; --force: its active cluster ${activeId} is expected down and does not answer (${unreachable})`.slice(
          0,
          FAILED_DETAIL_CHARS_MAX,
        ),
      );
      const have = before.replication.versionVector[activeId] ?? 0;
      const warning = `the mirror holds ${activeId} up to revision ${have}, last heard from ${before.replication.lagSeconds} s ago (replication ${before.replication.status}); every holder change ${activeId} made after revision ${have} is lost to ${id}, and how many there were is unknown while ${activeId} is unreachable`;
      ctx.io.stderr(`warning: ${warning}\n`);
      await step('warning', warning);
      const epoch = knownEpochMax(before) + 1;
      const promoted = await target.setCluster(
        descriptorOf(before, id, { state: 'active', failoverEpoch: epoch, reason, correlationId }),
      );
      await step('promote', `${id} is ${promoted.state} in failover epoch ${promoted.failoverEpoch}`);
      await target.setCluster(
        descriptorOf(before, activeId, {
          peer: true,
          state: 'passive',
          failoverEpoch: active.failoverEpoch,
          reason,
          correlationId,
        }),
      );
      await step(
        'record',
        `${id} records ${activeId} as passive; when ${activeId} comes back it learns of epoch ${promoted.failoverEpoch} and grants nothing until 'omnirelay mesh clusters failback ${activeId}'`,
      );
      await step('done', `${id} is active in failover epoch ${promoted.failoverEpoch}`);
      return EXIT.OK;
    });
  });
}

/**
 * failback returns the active role to `id` (the cluster `ctx`'s endpoints reach), the planned
 * failover in reverse, with one correlation id for every step:
 *
 * - `id` is passive: the planned failover to it (promote's preflight refuses while its
 *   replication is not streaming or lags more than `lagSecondsMax`);
 * - `id` is an old active that was superseded (it knows an active peer at a higher epoch): it
 *   first stands down to passive (it follows that peer), then waits at most `catchUpMs` until its
 *   replication streams within `lagSecondsMax` (refused otherwise: the failback stops there,
 *   `id` stays passive), then the planned failover to it;
 * - `id` is active and not superseded, or draining: refused (nothing to fail back, or a failover
 *   is under way).
 */
export async function failback(ctx: CommandContext, id: string, options: PromoteOptions): Promise<ExitCode> {
  const correlationId = `failback-${randomUUID()}`;
  const audit = new FailoverAudit(ctx, 'failback', id, correlationId, `failback to ${id} (${correlationId})`);
  await ctx.withClient(async (client) => {
    audit.reach(client);
    await audit.run(() => standDown(client, id, options, audit));
  });
  return promote(ctx, id, { ...options, workflow: 'failback', correlationId });
}

/**
 * standDown is failback's first part on cluster `id` (`client` reaches it): refused unless it is
 * passive, or active and superseded; a superseded `id` turns passive, following the peer above
 * it, and waits until its replication streams within the lag bound.
 */
async function standDown(
  client: OmniRelayClient,
  id: string,
  options: PromoteOptions,
  audit: FailoverAudit,
): Promise<void> {
  const view = await client.clusters();
  refuseUnlessCluster(view, id);
  if (view.state === 'draining') {
    throw refused(
      `cluster ${id} is draining: a planned failover is under way or stopped midway`,
      "look at both clusters with 'omnirelay mesh clusters list'",
    );
  }
  if (view.state !== 'active') return;
  const above = supersededBy(view);
  if (above === undefined)
    throw refused(`cluster ${id} is active and not superseded`, 'nothing to fail back');
  await client.setCluster(
    descriptorOf(view, id, {
      state: 'passive',
      failoverEpoch: view.failoverEpoch,
      reason: `failback to ${id}: stand down and follow ${above} first (${audit.correlationId})`,
      correlationId: audit.correlationId,
    }),
  );
  await audit.step('stand-down', `${id} was superseded by ${above}; it is passive and follows ${above}`);
  let ready = false;
  let last = view.replication;
  for (let i = 0; !ready && i <= options.catchUpMs / CATCH_UP_POLL_MS; i++) {
    last = (await client.clusters()).replication;
    ready = last.status === 'streaming' && last.lagSeconds <= options.lagSecondsMax;
    if (!ready) await new Promise((r) => setTimeout(r, CATCH_UP_POLL_MS));
  }
  if (!ready) {
    throw refused(
      `failback: ${id}'s replication from ${above} is ${last.status} with a lag of ${last.lagSeconds} s after ${options.catchUpMs} ms; ${id} stays passive`,
      `retry 'omnirelay mesh clusters failback ${id}' once replication streams (see 'omnirelay mesh clusters list')`,
    );
  }
  await audit.step('replicating', `${id} streams from ${above} with a lag of ${last.lagSeconds} s`);
}
