/** SimStats counts what one schedule did, so that a run can show its faults actually happened. */
export interface SimStats {
  events: number;
  proposalsAccepted: number;
  proposalsRefused: number;
  proposalsCommitted: number;
  proposalsFailed: number;
  readsAccepted: number;
  readsRefused: number;
  readsServed: number;
  configChangesAccepted: number;
  configChangesRefused: number;
  transfersAccepted: number;
  transfersRefused: number;
  crashes: number;
  /** disksLost counts crashes that also lost the node's disk; membersReadded, the members added back after one. */
  disksLost: number;
  membersReadded: number;
  restarts: number;
  pauses: number;
  partitions: number;
  oneWayCuts: number;
  unreachableTrue: number;
  unreachableSpurious: number;
  /** forgedSent and forgedRefused count the messages no correct peer sends, injected and refused on delivery. */
  forgedSent: number;
  forgedRefused: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  messagesSent: number;
  messagesDropped: number;
  messagesDuplicated: number;
  messagesHeld: number;
  leaderTerms: number;
  appliedMax: number;
  /** livenessTicks is how long the liveness phase took to apply a fresh proposal everywhere. */
  livenessTicks: number;
}

/** emptyStats returns a zeroed SimStats. */
export function emptyStats(): SimStats {
  return {
    events: 0,
    proposalsAccepted: 0,
    proposalsRefused: 0,
    proposalsCommitted: 0,
    proposalsFailed: 0,
    readsAccepted: 0,
    readsRefused: 0,
    readsServed: 0,
    configChangesAccepted: 0,
    configChangesRefused: 0,
    transfersAccepted: 0,
    transfersRefused: 0,
    crashes: 0,
    disksLost: 0,
    membersReadded: 0,
    restarts: 0,
    pauses: 0,
    partitions: 0,
    oneWayCuts: 0,
    unreachableTrue: 0,
    unreachableSpurious: 0,
    forgedSent: 0,
    forgedRefused: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    messagesSent: 0,
    messagesDropped: 0,
    messagesDuplicated: 0,
    messagesHeld: 0,
    leaderTerms: 0,
    appliedMax: 0,
    livenessTicks: 0,
  };
}

/** addStats adds `b` into `a`, field by field (livenessTicks keeps the maximum). */
export function addStats(a: SimStats, b: SimStats): void {
  for (const key of Object.keys(a) as (keyof SimStats)[]) {
    a[key] = key === 'livenessTicks' ? Math.max(a[key], b[key]) : a[key] + b[key];
  }
}
