import type { Members, NodeStatus, OmniRelayError } from '@omnirelay/client-sdk';
import { isOmniRelayError } from '@omnirelay/client-sdk';
import { CliError } from './cli-error';
import type { CommandContext } from './context';
import { EXIT } from './exit-codes';

/**
 * CATCH_UP_LAG_ENTRIES_MAX: `--wait` counts a member as caught up once the Raft leader knows it
 * holds an entry (match > 0) and it is at most this many entries behind the leader's last index.
 * It is the Raft core's promotion bound (learnerCatchUpEntriesMax, 1,000), so a learner that
 * `add-learner --wait` reported caught up is not refused by `promote` as not caught up.
 */
export const CATCH_UP_LAG_ENTRIES_MAX = 1000;

/** WAIT_POLL_MS is how often `--wait` asks the cluster again. */
export const WAIT_POLL_MS = 250;

/** WAIT_PROGRESS_MS: `--wait` writes at most one progress line on stderr per this many ms. */
export const WAIT_PROGRESS_MS = 1000;

/**
 * PASSING_CODES are the failures `--wait` rides out by asking again (a node restarting, a leader
 * election under way); any other failure (access refused, say) ends the wait at once.
 */
const PASSING_CODES: ReadonlySet<string> = new Set([
  'UNAVAILABLE',
  'NOT_LEADER',
  'NO_QUORUM',
  'DEADLINE_EXCEEDED',
  'STOPPED',
  'TRANSFER_IN_PROGRESS',
]);

/** StatusReport is what one endpoint answered to Status: its status, or its error. */
type StatusReport = NodeStatus | { readonly address: string; readonly error: OmniRelayError };

/**
 * waitCaughtUp polls the Raft leader's replication progress until member `id` is caught up (see
 * CATCH_UP_LAG_ENTRIES_MAX) and resolves with the leader's view then. It writes progress lines
 * on stderr, and fails with exit 6 when `id` is not caught up within ctx.timeoutMs (the change
 * itself stays applied).
 */
export async function waitCaughtUp(ctx: CommandContext, id: string): Promise<Members> {
  const deadline = Date.now() + ctx.timeoutMs;
  const progress = throttledProgress(ctx);
  let last = 'no leader answered yet';
  for (;;) {
    const view = await leaderView(ctx);
    const member = view?.members.find((m) => m.id === id);
    if (view !== undefined && member === undefined) {
      throw new CliError(
        EXIT.REJECTED,
        `${id} is no longer a member (the leader ${view.leader} does not list it)`,
        "check 'omnirelay cluster members': someone may have removed it",
      );
    }
    if (member !== undefined) {
      if (member.match > 0 && member.lagEntries <= CATCH_UP_LAG_ENTRIES_MAX) return view!;
      last = `match ${member.match < 0 ? 0 : member.match}, ${member.lagEntries < 0 ? '?' : member.lagEntries} entries behind`;
      progress(`waiting for ${id} to catch up: ${last}`);
    }
    if (Date.now() + WAIT_POLL_MS > deadline) {
      throw new CliError(
        EXIT.OVERLOADED,
        `${id} did not catch up within ${ctx.timeoutMs} ms (${last}); the change itself is applied`,
        `raise --timeout, check that ${id} runs and reaches its peers, and see 'omnirelay cluster members'`,
      );
    }
    await sleep(WAIT_POLL_MS);
  }
}

/**
 * waitRemoved polls every endpoint until each one that answers, other than `id` itself, no longer
 * lists `id` and a leader other than `id` is known (a removed leader steps down once its removal
 * commits). It fails with exit 6 when that does not happen within ctx.timeoutMs.
 */
export async function waitRemoved(ctx: CommandContext, id: string): Promise<void> {
  const last = await pollRemoved(ctx, id);
  if (last === undefined) return;
  throw new CliError(
    EXIT.OVERLOADED,
    `the removal of ${id} was not seen everywhere within ${ctx.timeoutMs} ms (${last}); the change itself is applied`,
    "raise --timeout, or check 'omnirelay status'",
  );
}

/**
 * REMOVAL_OUTCOME_UNKNOWN are the failures of a RemoveMember call after which the removal may
 * have been applied all the same. A leader that removes itself is the case that needs this: once
 * the entry is appended it no longer counts itself, so a follower that is slow to acknowledge makes
 * it step down (check-quorum) before it sees the commit, and as a non-member it is never told of
 * the commit the others make; its proposal then times out (NO_QUORUM) though the removal applied.
 */
export const REMOVAL_OUTCOME_UNKNOWN: ReadonlySet<string> = new Set([
  'NO_QUORUM',
  'DEADLINE_EXCEEDED',
  'UNAVAILABLE',
]);

/**
 * confirmRemoval settles a RemoveMember call of `id` that failed with `error`: when its outcome
 * is unknown (REMOVAL_OUTCOME_UNKNOWN) and the other members show the removal applied within
 * ctx.timeoutMs (as waitRemoved sees it), it resolves with the leader's view of the members;
 * otherwise it rethrows `error`.
 */
export async function confirmRemoval(ctx: CommandContext, id: string, error: unknown): Promise<Members> {
  if (!isOmniRelayError(error) || !REMOVAL_OUTCOME_UNKNOWN.has(error.code)) throw error;
  ctx.io.stderr(
    `omnirelay: the removal of ${id} answered ${error.code}, so its outcome is unknown; asking the other members\n`,
  );
  if ((await pollRemoved(ctx, id)) !== undefined) throw error;
  return ctx.withClient((client) => client.members());
}

/**
 * pollRemoved asks every endpoint until the removal of `id` is seen (see waitRemoved) and
 * resolves undefined, or resolves with the last reason it was not when ctx.timeoutMs runs out.
 */
async function pollRemoved(ctx: CommandContext, id: string): Promise<string | undefined> {
  const deadline = Date.now() + ctx.timeoutMs;
  const progress = throttledProgress(ctx);
  for (;;) {
    const others = (await statusAll(ctx)).filter((r): r is NodeStatus => !('error' in r) && r.nodeId !== id);
    const behind = others.filter((r) => r.members.some((m) => m.id === id)).map((r) => r.nodeId);
    const leader = others.find((r) => r.leader !== '' && r.leader !== id)?.leader;
    if (others.length > 0 && behind.length === 0 && leader !== undefined) return undefined;
    const last =
      others.length === 0
        ? 'no endpoint answered'
        : behind.length > 0
          ? `${behind.join(', ')} still list ${id}`
          : 'no leader is known yet';
    progress(`waiting for the removal of ${id}: ${last}`);
    if (Date.now() + WAIT_POLL_MS > deadline) return last;
    await sleep(WAIT_POLL_MS);
  }
}

/**
 * leaderView asks the endpoint that reports itself the Raft leader for the members with their
 * replication progress; undefined while no leader answers (an election, a restart).
 */
async function leaderView(ctx: CommandContext): Promise<Members | undefined> {
  const leader = (await statusAll(ctx)).find((r) => !('error' in r) && r.role === 'leader');
  if (leader === undefined) return undefined;
  try {
    const view = await ctx.withClient((client) => client.members(), [leader.address]);
    return view.nodeId === view.leader ? view : undefined;
  } catch (e) {
    if (isOmniRelayError(e) && PASSING_CODES.has(e.code)) return undefined;
    throw e;
  }
}

/** statusAll asks every endpoint for its status; an access refusal ends the wait. */
async function statusAll(ctx: CommandContext): Promise<StatusReport[]> {
  const reports = await ctx.withClient((client) => client.statusAll());
  const refused = reports.find((r) => 'error' in r && !PASSING_CODES.has(r.error.code));
  if (refused !== undefined && 'error' in refused) throw refused.error;
  return reports;
}

/** throttledProgress writes `omnirelay: <text>` lines on stderr, at most one per WAIT_PROGRESS_MS. */
function throttledProgress(ctx: CommandContext): (text: string) => void {
  let lastAt = Number.NEGATIVE_INFINITY;
  return (text) => {
    const now = Date.now();
    if (now - lastAt < WAIT_PROGRESS_MS) return;
    lastAt = now;
    ctx.io.stderr(`omnirelay: ${text}\n`);
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
