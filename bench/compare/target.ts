/**
 * Target is what the compare bench needs from a system under test (OmniRelay or etcd): a fresh
 * 3-member cluster on 127.0.0.1, leases on scopes, single writes through a chosen member, crash and
 * transfer of the Raft leader, and the pieces the watch and holder workloads run elsewhere.
 */
import type { SecurityMode } from './security';
import type { TlsFiles } from './tls-files';

/** TargetName names a system under test. */
export type TargetName = 'omnirelay' | 'etcd';

/** HeldScope is one scope held by the bench through a target's client. */
export interface HeldScope {
  readonly scope: string;
  /** fence is the target's fence token (OmniRelay: the lease's fence; etcd: the put's revision). */
  readonly fence: bigint;
  /** renew sends one explicit renewal and resolves when the target acknowledged it. */
  renew(): Promise<void>;
  /** release gives the scope up (OmniRelay: resign; etcd: lease revoke). */
  release(): Promise<void>;
}

/** WatchWorkerSpec is what a watch worker thread needs to open its own client and watchers. */
export interface WatchWorkerSpec {
  readonly target: TargetName;
  /** endpoint is the member the watchers connect to (host:port for OmniRelay, a URL for etcd). */
  readonly endpoint: string;
  /** tls, when the target runs with TLS: the files the worker's client connects with. */
  readonly tls?: TlsFiles;
}

/** HolderSpec is what the holder child process needs to hold one scope. */
export interface HolderSpec {
  readonly target: TargetName;
  readonly endpoints: readonly string[];
  readonly scope: string;
  readonly ttlMs: number;
  /** releaseOnResetMs asks OmniRelay to release the lease that long after the holder's connection resets. */
  readonly releaseOnResetMs?: number;
  /** tls, when the target runs with TLS: the files the holder's client connects with. */
  readonly tls?: TlsFiles;
}

/** Campaign is a second candidate's pending campaign for a scope. */
export interface Campaign {
  /** elected resolves when the candidate holds the scope. */
  readonly elected: Promise<void>;
  /** close resigns (if elected) or abandons the campaign. */
  close(): Promise<void>;
}

/** Target is one system under test. */
export interface Target {
  readonly name: TargetName;
  /** security is the setting this target's clusters run under (plaintext, or TLS with client certificates). */
  readonly security: SecurityMode;
  /** version of the system (etcd's version, OmniRelay's package version). */
  readonly version: string;
  /** members lists the member ids in order; the "next member" of a transfer follows this order. */
  readonly members: readonly string[];
  /** start starts a fresh cluster and returns when it has a leader and the clients are ready. */
  start(): Promise<void>;
  /** stop closes every client and stops every member by PID. */
  stop(): Promise<void>;
  /** leader waits (bounded) until every running member agrees on one Raft leader and returns it. */
  leader(timeoutMs: number): Promise<string>;
  /** raftTerm is the current Raft term as seen by `member`. */
  raftTerm(member: string): Promise<bigint>;
  /** acquire takes a free scope through the client that talks to the Raft leader. */
  acquire(scope: string, ttlMs: number): Promise<HeldScope>;
  /**
   * write sends one write through `member` (a follower forwards it) with a deadline and resolves
   * with the Raft term of the entry that committed it.
   */
  write(member: string, key: string, deadlineMs: number): Promise<bigint>;
  /** tidy releases whatever the probe writes left behind (OmniRelay: the probe leases the SDK would keep renewing). */
  tidy?(): Promise<void>;
  /** kill sends SIGKILL to a member by PID and waits for it to exit. */
  kill(member: string): Promise<void>;
  /** restart starts a killed member again and waits (bounded) until it has caught up with the leader. */
  restart(member: string, timeoutMs: number): Promise<void>;
  /** transferLeadership asks the current leader `from` to hand leadership to `to`. */
  transferLeadership(from: string, to: string): Promise<void>;
  /** watchSpec tells a watch worker how to reach `member`. */
  watchSpec(member: string): WatchWorkerSpec;
  /** holderSpec tells the holder child how to hold `scope`. */
  holderSpec(scope: string, releaseOnResetMs: number | undefined): HolderSpec;
  /** holderTtlMs is the TTL the holder child uses (etcd: its session minimum). */
  readonly holderTtlMs: number;
  /** campaign starts a second candidate for `scope`. */
  campaign(scope: string): Campaign;
}
