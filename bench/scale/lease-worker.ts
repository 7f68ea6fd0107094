/**
 * The lease worker thread of the scale bench: it opens its share of the SDK clients (each its own
 * client, so each renews over its own KeepAlive stream), acquires its share of the leases on
 * distinct scopes, and from then on lets the SDK renew them. It times every renewal from the
 * SDK's `sent` to `renewed` (ClientOptions.onRenewal) and counts the leases whose signal aborted
 * (lost, by error code).
 *
 * Messages in: {type:'measure'} (forget the renewal samples so far), {type:'report'} (post the
 * figures), {type:'stop'} (close every client and exit). Out: {type:'held', held, failed} once
 * every acquire ended, {type:'report', ...ScaleWorkerReport}, {type:'error', message}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createClient } from '@omnirelay/client-sdk';
import type { RenewalEvent } from '@omnirelay/client-sdk';
import { withAttempts } from './attempts';

/** RENEWAL_SAMPLES_MAX bounds the renewal latencies one worker keeps (a ring past it). */
const RENEWAL_SAMPLES_MAX = 200_000;
/** CALL_MS_MAX is each client's per-call deadline. */
const CALL_MS_MAX = 10_000;

/** LeaseWorkerData is what the bench hands each lease worker. */
export interface LeaseWorkerData {
  readonly endpoints: readonly string[];
  /** nodeNames names the members by their gRPC address (`n1`…), for the lost leases' report. */
  readonly nodeNames: Readonly<Record<string, string>>;
  /** firstClient is the global index of this worker's first client (it names the scopes). */
  readonly firstClient: number;
  /** leasesPerClient lists, for each client of this worker, how many leases it holds. */
  readonly leasesPerClient: readonly number[];
  readonly ttlMs: number;
  /** acquireConcurrency is how many acquires each client keeps in flight while filling up. */
  readonly acquireConcurrency: number;
}

/** ScaleWorkerReport is one worker's figures. */
export interface ScaleWorkerReport {
  /** held counts the leases acquired and not lost since. */
  readonly held: number;
  /** renewalMs are the renewal latencies (sent → renewed) since the last `measure`. */
  readonly renewalMs: readonly number[];
  readonly renewed: number;
  readonly refused: number;
  readonly unanswered: number;
  /** lost counts the leases whose signal aborted, by the reason's code. */
  readonly lost: Readonly<Record<string, number>>;
  /** recent is what happened since the previous report (the fill prints it every few seconds). */
  readonly recent: RecentRenewals;
  /**
   * clientsAllLost counts this worker's clients that lost every lease they acquired (so far): a loss
   * spread over many clients is a slow cluster, a whole client's share one client that stopped.
   */
  readonly clientsAllLost: number;
}

/**
 * RecentRenewals says, for the time since the previous report, how slow renewals got and what
 * the lost leases' renewals last did: a lease lost with its last renewal `sent` long ago waited on
 * an answer, one whose last was `unanswered CANCELLED` was on a stream the SDK gave up, one whose
 * last was `renewed` long ago was never sent again (its client did not run).
 */
export interface RecentRenewals {
  readonly renewed: number;
  readonly maxRenewalMs: number;
  /** unanswered counts the renewals whose stream ended before their answer, by code and node, with how long they had waited. */
  readonly unanswered: Readonly<Record<string, UnansweredGroup>>;
  /**
   * lostAfter groups the leases lost by their last renewal event, the node its stream went to and
   * why the lease ended (`unconfirmed`: its own deadline passed, `refused`: the cluster said so),
   * with how long before the loss its last send was.
   */
  readonly lostAfter: Readonly<Record<string, LostGroup>>;
}

/**
 * UnansweredGroup counts renewals left unanswered with one cause, and how long each had waited
 * since its send when its stream ended (sum and longest): a leader that held renewals for
 * seconds before it stepped down shows here.
 */
export interface UnansweredGroup {
  count: number;
  waitedSumMs: number;
  waitedMaxMs: number;
}

/**
 * LostGroup counts lost leases with one last renewal event, the range of how long before the loss
 * each was last sent, and the clients (global index) they belonged to.
 */
export interface LostGroup {
  count: number;
  sentAgoMinMs: number;
  sentAgoMaxMs: number;
  clients: number[];
}

function codeOf(reason: unknown): string {
  const code = (reason as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

interface MutableRecent {
  renewed: number;
  maxRenewalMs: number;
  unanswered: Record<string, UnansweredGroup>;
  lostAfter: Record<string, LostGroup>;
}

/** causeOf is an event's code, with the SDK's reason when it cancelled the stream itself. */
function causeOf(e: RenewalEvent): string {
  const code = e.code ?? 'UNKNOWN';
  return e.reason === undefined ? code : `${code} (${e.reason})`;
}

function freshRecent(): MutableRecent {
  return { renewed: 0, maxRenewalMs: 0, unanswered: {}, lostAfter: {} };
}

function main(data: LeaseWorkerData): void {
  const port = parentPort;
  if (port === null) throw new Error('lease-worker must run in a worker thread');
  const samples = new Float64Array(RENEWAL_SAMPLES_MAX);
  let sampleCount = 0;
  let renewed = 0;
  let refused = 0;
  let unanswered = 0;
  let held = 0;
  const lost: Record<string, number> = {};
  // Keyed by scope alone: every lease of this worker is on its own scope, and a lost one is not
  // acquired again. (A key built from scope and fence per event was a fifth of the worker's CPU
  // in the window, on the cores the nodes need.) The entry stays for the next send.
  const sentAt = new Map<string, number>();
  // lastEvent keeps each scope's last renewal event and its node (interned strings, by node and
  // then by the event's type or cause: no allocation per event without a code).
  const lastEvent = new Map<string, string>();
  const eventNames = new Map<string, Map<string, string>>();
  const eventName = (e: RenewalEvent): string => {
    let byNode = eventNames.get(e.node);
    if (byNode === undefined) eventNames.set(e.node, (byNode = new Map<string, string>()));
    const key = e.code === undefined ? e.type : `${e.type} ${causeOf(e)}`;
    const known = byNode.get(key);
    if (known !== undefined) return known;
    const name = `${key} (${data.nodeNames[e.node] ?? e.node})`;
    byNode.set(key, name);
    return name;
  };
  let recent = freshRecent();
  const onRenewal = (e: RenewalEvent): void => {
    lastEvent.set(e.scope, eventName(e));
    if (e.type === 'sent') {
      sentAt.set(e.scope, performance.now());
      return;
    }
    const at = sentAt.get(e.scope);
    if (e.type === 'refused') refused++;
    else if (e.type === 'unanswered') {
      unanswered++;
      const group = (recent.unanswered[`${causeOf(e)} (${data.nodeNames[e.node] ?? e.node})`] ??= {
        count: 0,
        waitedSumMs: 0,
        waitedMaxMs: 0,
      });
      group.count++;
      if (at !== undefined) {
        const waitedMs = performance.now() - at;
        group.waitedSumMs += waitedMs;
        group.waitedMaxMs = Math.max(group.waitedMaxMs, waitedMs);
      }
    } else {
      renewed++;
      recent.renewed++;
      if (at !== undefined) {
        const ms = performance.now() - at;
        samples[sampleCount++ % RENEWAL_SAMPLES_MAX] = ms;
        if (ms > recent.maxRenewalMs) recent.maxRenewalMs = ms;
      }
    }
  };
  /** heldBy and lostBy count each client's leases acquired and lost (index within this worker). */
  const heldBy = data.leasesPerClient.map(() => 0);
  const lostBy = data.leasesPerClient.map(() => 0);
  const noteLost = (scope: string, k: number, endedReason: string): void => {
    const last = `${lastEvent.get(scope) ?? 'none'}, ${endedReason}`;
    const sentAgoMs = performance.now() - (sentAt.get(scope) ?? Number.NaN);
    const group = (recent.lostAfter[last] ??= {
      count: 0,
      sentAgoMinMs: Infinity,
      sentAgoMaxMs: 0,
      clients: [],
    });
    group.count++;
    lostBy[k]!++;
    if (!group.clients.includes(data.firstClient + k)) group.clients.push(data.firstClient + k);
    group.sentAgoMinMs = Math.min(group.sentAgoMinMs, Math.round(sentAgoMs));
    group.sentAgoMaxMs = Math.max(group.sentAgoMaxMs, Math.round(sentAgoMs));
  };
  const clients = data.leasesPerClient.map((_, k) =>
    createClient({
      endpoints: data.endpoints,
      callTimeoutMs: CALL_MS_MAX,
      candidateId: `scale-${data.firstClient + k}`,
      onRenewal,
    }),
  );

  const fill = async (k: number): Promise<number> => {
    const client = clients[k]!;
    const count = data.leasesPerClient[k]!;
    let next = 0;
    let failed = 0;
    const one = async (): Promise<void> => {
      while (next < count) {
        const scope = `scale/c${data.firstClient + k}/${next++}`;
        const ok = await withAttempts(async () => {
          const lease = await client.acquire(scope, { ttlMs: data.ttlMs });
          if (lease === null) throw new Error(`${scope} is already held`);
          held++;
          heldBy[k]!++;
          lease.signal.addEventListener('abort', () => {
            held--;
            noteLost(scope, k, lease.endedReason ?? 'unknown');
            const code = codeOf(lease.signal.reason);
            lost[code] = (lost[code] ?? 0) + 1;
          });
        });
        if (!ok) failed++;
      }
    };
    await Promise.all(Array.from({ length: data.acquireConcurrency }, () => one()));
    return failed;
  };

  Promise.all(clients.map((_, k) => fill(k))).then(
    (failed) => port.postMessage({ type: 'held', held, failed: failed.reduce((a, b) => a + b, 0) }),
    (e: unknown) => port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
  );

  port.on('message', (m: { type: string }) => {
    if (m.type === 'measure') {
      sampleCount = 0;
      renewed = 0;
      refused = 0;
      unanswered = 0;
    } else if (m.type === 'report') {
      const report: ScaleWorkerReport = {
        held,
        renewalMs: Array.from(samples.subarray(0, Math.min(sampleCount, RENEWAL_SAMPLES_MAX))),
        renewed,
        refused,
        unanswered,
        lost: { ...lost },
        recent,
        clientsAllLost: lostBy.filter((n, k) => n > 0 && n === heldBy[k]).length,
      };
      recent = freshRecent();
      port.postMessage({ type: 'report', ...report });
    } else if (m.type === 'stop') {
      for (const c of clients) c.close();
      port.close();
    }
  });
}

main(workerData as LeaseWorkerData);
