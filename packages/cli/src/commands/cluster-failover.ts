import type { ClustersView, OmniRelayClient, SetClusterOptions } from '@omnirelay/client-sdk';
import { randomUUID } from 'node:crypto';
import { CliError } from '../cli-error';
import type { CommandContext } from '../context';
import type { ExitCode } from '../exit-codes';
import { EXIT } from '../exit-codes';
import { jsonLine } from '../format/json';

/**
 * PromoteOptions bound a planned failover: the lag the preflight accepts and the catch-up wait;
 * `workflow` names it in every step line (`promote`, `failback`) and `correlationId` ties its
 * steps together (default: a new `<workflow>-<uuid>`).
 */
export interface PromoteOptions {
  readonly lagSecondsMax: number;
  readonly catchUpMs: number;
  readonly workflow?: string;
  readonly correlationId?: string;
}

/** CATCH_UP_POLL_MS is how often a failover looks whether the mirror caught up. */
export const CATCH_UP_POLL_MS = 100;

/** refused is the CLI error of a refused step (exit 5) with what to do next. */
export function refused(message: string, next: string): CliError {
  return new CliError(EXIT.REJECTED, message, next);
}

/**
 * FailoverAudit records the steps of one failover workflow: each step goes to the failover
 * history of every cluster the workflow reached so far (replicated there, with the caller as its
 * actor, the workflow's correlation id and reason), then is printed as a line of text or JSON. A
 * workflow that fails records `failed` with the error's message in every cluster it reached that
 * still answers, once.
 */
export class FailoverAudit {
  private readonly reached: OmniRelayClient[] = [];
  private failed = false;

  constructor(
    private readonly ctx: CommandContext,
    private readonly workflow: string,
    private readonly id: string,
    readonly correlationId: string,
    readonly reason: string,
  ) {}

  /** reach adds a cluster whose history records the steps from now on. */
  reach(client: OmniRelayClient): void {
    if (!this.reached.includes(client)) this.reached.push(client);
  }

  /** step records step `name` with `detail` in every reached cluster, then prints it. */
  async step(name: string, detail: string): Promise<void> {
    for (const client of this.reached) {
      await client.recordFailoverStep({
        step: name,
        detail,
        reason: this.reason,
        correlationId: this.correlationId,
      });
    }
    this.ctx.io.stdout(
      this.ctx.output === 'json'
        ? jsonLine({ step: name, detail, correlationId: this.correlationId })
        : `${this.workflow} ${this.id}: ${name}: ${detail} (correlation id ${this.correlationId})\n`,
    );
  }

  /** run runs `body`; when it throws, `failed` is recorded (as far as the clusters answer) and the error rethrown. */
  async run<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (e) {
      if (!this.failed) {
        this.failed = true;
        const detail = (e instanceof Error ? e.message : String(e)).slice(0, FAILED_DETAIL_CHARS_MAX);
        for (const client of this.reached) {
          await client
            .recordFailoverStep({
              step: 'failed',
              detail,
              reason: this.reason,
              correlationId: this.correlationId,
            })
            .catch(() => undefined);
        }
      }
      throw e;
    }
  }
}

/** FAILED_DETAIL_CHARS_MAX cuts a failure's message in its record (≤ 3 UTF-8 bytes a code unit: within the 1,024-byte detail). */
export const FAILED_DETAIL_CHARS_MAX = 320;

/**
 * passiveView returns `view` when it is cluster `id`'s and that cluster is not active: the
 * target of a promotion. Refused (exit 5) when the endpoints reach another cluster (an unknown
 * or mistyped id) or `id` is already active.
 */
export function passiveView(view: ClustersView, id: string): ClustersView {
  refuseUnlessCluster(view, id);
  if (view.state === 'active') throw refused(`cluster ${id} is already active`, 'nothing to do');
  return view;
}

/** refuseUnlessCluster refuses (exit 5) unless the endpoints reached cluster `id` (its view is `view`). */
export function refuseUnlessCluster(view: ClustersView, id: string): void {
  if (view.clusterId !== id) {
    throw refused(
      `the endpoints reach cluster ${JSON.stringify(view.clusterId)}, not ${JSON.stringify(id)}`,
      `give --endpoints of cluster ${id}`,
    );
  }
}

/** descriptorOf is the descriptor change that keeps everything of `id`'s known descriptor but what is given. */
export function descriptorOf(
  view: ClustersView,
  id: string,
  change: Pick<SetClusterOptions, 'state' | 'failoverEpoch' | 'peer'> & {
    reason: string;
    correlationId: string;
  },
): SetClusterOptions {
  const known = view.clusters.find((c) => c.clusterId === id);
  return {
    clusterId: id,
    region: known?.region ?? '',
    priority: known?.priority ?? 0,
    endpoints: known?.endpoints ?? [],
    ...change,
  };
}

/**
 * promote runs a planned failover to the passive cluster `id` that `ctx`'s endpoints reach, and
 * prints each step with one correlation id (every server logs each descriptor change with it):
 *
 * 1. preflight: `id` is passive and follows an active cluster, its replicator streams with a lag
 *    of at most `lagSecondsMax`, and the active cluster answers at its descriptor's endpoints;
 * 2. drain: the active cluster turns `draining` (it grants nothing more; its holders keep
 *    their leases until they resign or expire);
 * 3. catch up: wait (at most `catchUpMs`) until `id`'s version vector reaches the active's last
 *    holder change;
 * 4. promote: `id` turns active with a failover epoch above every epoch either side knows;
 * 5. demote: the old active learns `id`'s descriptor (it is superseded: it grants nothing) and
 *    turns passive, following `id`; `id` records it as passive;
 * 6. done.
 *
 * Every step is recorded in the failover history of both clusters (FailoverAudit; each
 * descriptor change is recorded there by the cluster itself too), and a failure as `failed` with
 * its message. A failure before step 4 leaves the old active draining (run `mesh clusters set` to undo); the
 * error names the step.
 */
export async function promote(ctx: CommandContext, id: string, options: PromoteOptions): Promise<ExitCode> {
  const workflow = options.workflow ?? 'promote';
  const correlationId = options.correlationId ?? `${workflow}-${randomUUID()}`;
  const reason = `planned failover to ${id} (${correlationId})`;
  const audit = new FailoverAudit(ctx, workflow, id, correlationId, reason);
  return ctx.withClient(async (target) => {
    audit.reach(target);
    return audit.run(() => promoteTo(ctx, target, id, options, audit));
  });
}

/** promoteTo runs the planned failover of `promote` on the passive cluster `target` reaches. */
async function promoteTo(
  ctx: CommandContext,
  target: OmniRelayClient,
  id: string,
  options: PromoteOptions,
  audit: FailoverAudit,
): Promise<ExitCode> {
  const { correlationId, reason } = audit;
  const step = (name: string, detail: string): Promise<void> => audit.step(name, detail);
  const before = passiveView(await target.clusters(), id);
  const activeId = before.following;
  const active = before.clusters.find((c) => c.clusterId === activeId && !c.local);
  if (activeId === '' || active === undefined || active.endpoints.length === 0) {
    throw refused(
      `cluster ${id} follows no active cluster with known endpoints`,
      "set the active peer first: 'omnirelay mesh clusters set --peer --id <active> --state active --endpoint <host:port>'",
    );
  }
  const replication = before.replication;
  if (replication.status !== 'streaming' || replication.lagSeconds > options.lagSecondsMax) {
    throw refused(
      `preflight: cluster ${id} is ${replication.status} with a lag of ${replication.lagSeconds} s (at most ${options.lagSecondsMax} s, streaming)`,
      'wait for replication to catch up, or raise --lag-max-seconds',
    );
  }
  return ctx.withClient(async (old: OmniRelayClient) => {
    audit.reach(old);
    return audit.run(async () => {
      const activeView = await old.clusters();
      if (activeView.clusterId !== activeId || activeView.state !== 'active') {
        throw refused(
          `preflight: ${activeId}'s endpoints answer as ${JSON.stringify(activeView.clusterId)} in state ${activeView.state}`,
          "check the descriptors with 'omnirelay mesh clusters list' on both clusters",
        );
      }
      await step('preflight', `${id} streams from ${activeId} with a lag of ${replication.lagSeconds} s`);
      const drained = await old.setCluster(
        descriptorOf(activeView, activeId, {
          state: 'draining',
          failoverEpoch: activeView.failoverEpoch,
          reason,
          correlationId,
        }),
      );
      await step('drain', `${activeId} is ${drained.state}: it grants nothing more`);
      const deadline = Date.now() + options.catchUpMs;
      let caughtUp: { have: number; need: number } | undefined;
      for (let i = 0; caughtUp === undefined && i <= options.catchUpMs / CATCH_UP_POLL_MS; i++) {
        const need = (await old.clusters()).lastEventRevision;
        const have = (await target.clusters()).replication.versionVector[activeId] ?? 0;
        if (have >= need) caughtUp = { have, need };
        else if (Date.now() >= deadline) break;
        else await new Promise((r) => setTimeout(r, CATCH_UP_POLL_MS));
      }
      if (caughtUp === undefined) {
        throw refused(
          `catch up: ${id}'s mirror did not reach ${activeId}'s last holder change within ${options.catchUpMs} ms; ${activeId} stays draining`,
          `retry the promotion, or undo with 'omnirelay mesh clusters set --id ${activeId} --state active --epoch ${activeView.failoverEpoch}' on ${activeId}`,
        );
      }
      await step(
        'catch-up',
        `${id} holds ${activeId} up to revision ${caughtUp.have} (last change ${caughtUp.need})`,
      );
      const epochs = [...before.clusters, ...activeView.clusters].map((c) => c.failoverEpoch);
      const epoch = Math.max(before.failoverEpoch, activeView.failoverEpoch, ...epochs) + 1;
      const promoted = await target.setCluster(
        descriptorOf(before, id, { state: 'active', failoverEpoch: epoch, reason, correlationId }),
      );
      await step('promote', `${id} is ${promoted.state} in failover epoch ${promoted.failoverEpoch}`);
      await old.setCluster(
        descriptorOf(before, id, {
          peer: true,
          state: 'active',
          failoverEpoch: epoch,
          reason,
          correlationId,
        }),
      );
      const demoted = await old.setCluster(
        descriptorOf(activeView, activeId, {
          state: 'passive',
          failoverEpoch: activeView.failoverEpoch,
          reason,
          correlationId,
        }),
      );
      await target.setCluster(
        descriptorOf(before, activeId, {
          peer: true,
          state: 'passive',
          failoverEpoch: activeView.failoverEpoch,
          reason,
          correlationId,
        }),
      );
      await step('demote', `${activeId} is ${demoted.state} and follows ${demoted.following || id}`);
      await step(
        'done',
        `${id} is active in failover epoch ${promoted.failoverEpoch}; ${activeId} is passive`,
      );
      return EXIT.OK;
    });
  }, active.endpoints);
}
