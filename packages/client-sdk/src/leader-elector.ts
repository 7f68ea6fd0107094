import type { CampaignOptions, OmniRelayClient } from './client';
import { isOmniRelayError } from './errors';
import type { Lease } from './lease';
import { backoffMs, sleep } from './router';

/** StoppedReason says why onStoppedLeading was called: the lease's end reason, or `stopped` by stop(). */
export type StoppedReason = 'resigned' | 'refused' | 'unconfirmed' | 'closed' | 'failover' | 'stopped';

/** LeaderElectorOptions configures a LeaderElector. */
export interface LeaderElectorOptions extends Omit<CampaignOptions, 'signal' | 'onQueued'> {
  readonly scope: string;
  /** onStartedLeading runs when this candidate is elected; stop acting when `lease.signal` aborts. */
  readonly onStartedLeading?: (lease: Lease) => void;
  /** onStoppedLeading runs once per term led, when the lease ends. */
  readonly onStoppedLeading?: (reason: StoppedReason) => void;
  /** onNewLeader runs whenever the scope's holder changes (its candidate id; '' when vacant). */
  readonly onNewLeader?: (leaderId: string) => void;
  /** onError hears failures the elector retries after (for logs). */
  readonly onError?: (error: unknown) => void;
}

/**
 * LeaderElector keeps a candidate in the running for one scope, in the style of client-go's
 * leaderelection and Curator's LeaderLatch: it campaigns, calls onStartedLeading with the lease,
 * calls onStoppedLeading when the lease ends, and campaigns again, until stop(). It watches the
 * scope to report every new leader through onNewLeader.
 */
export class LeaderElector {
  private readonly controller = new AbortController();
  private lease: Lease | undefined;
  private running: Promise<void> | undefined;
  private lastLeader: string | undefined;

  constructor(
    private readonly client: OmniRelayClient,
    private readonly options: LeaderElectorOptions,
  ) {}

  /** isLeader says whether this candidate holds a lease that is still proven valid. */
  get isLeader(): boolean {
    return this.lease?.isValid() === true;
  }

  /** currentLease is the held lease, if any. */
  get currentLease(): Lease | undefined {
    return this.lease;
  }

  /** start runs the election loop in the background (once). */
  start(): this {
    this.running ??= Promise.all([this.campaignLoop(), this.watchLoop()]).then(() => undefined);
    return this;
  }

  /** stop leaves the election: it withdraws, resigns a held lease, and resolves when the loops end. */
  async stop(): Promise<void> {
    this.controller.abort();
    const lease = this.lease;
    if (lease !== undefined) await lease.resign().catch((e: unknown) => this.options.onError?.(e));
    await this.running;
  }

  private async campaignLoop(): Promise<void> {
    const signal = this.controller.signal;
    let failures = 0;
    while (!signal.aborted) {
      let lease: Lease;
      try {
        lease = await this.client.campaign(this.options.scope, { ...this.options, signal });
      } catch (e) {
        if (signal.aborted) return;
        this.options.onError?.(e);
        if (isOmniRelayError(e, 'CLOSED')) return;
        failures++;
        await sleep(backoffMs(failures, { backoffBaseMs: 50, backoffMaxMs: 2000 }), signal).catch(
          () => undefined,
        );
        continue;
      }
      failures = 0;
      this.lease = lease;
      this.noteLeader(lease.candidateId);
      this.options.onStartedLeading?.(lease);
      await new Promise<void>((resolve) => {
        if (lease.signal.aborted) resolve();
        else lease.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      this.lease = undefined;
      this.options.onStoppedLeading?.(signal.aborted ? 'stopped' : (lease.endedReason ?? 'refused'));
    }
  }

  private async watchLoop(): Promise<void> {
    const signal = this.controller.signal;
    while (!signal.aborted) {
      // Revisions are per cluster: when a multi-cluster client moves to another cluster, the
      // watch starts again there (resuming the old cluster's revision there would skip events).
      const round = new AbortController();
      const endRound = (): void => round.abort();
      signal.addEventListener('abort', endRound, { once: true });
      const unsubscribe = this.client.onClusterSwitch(endRound);
      try {
        const current = await this.client.getLeader(this.options.scope, { signal: round.signal });
        this.noteLeader(current?.candidateId ?? '');
        for await (const event of this.client.watch(this.options.scope, { signal: round.signal })) {
          if (event.scope !== this.options.scope) continue;
          this.noteLeader(event.holder?.candidateId ?? '');
        }
      } catch (e) {
        if (signal.aborted) return;
        if (!round.signal.aborted) {
          this.options.onError?.(e);
          await sleep(500, signal).catch(() => undefined);
        }
      } finally {
        unsubscribe();
        signal.removeEventListener('abort', endRound);
      }
    }
  }

  private noteLeader(id: string): void {
    if (id === this.lastLeader) return;
    this.lastLeader = id;
    this.options.onNewLeader?.(id);
  }
}
