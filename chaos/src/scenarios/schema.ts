/**
 * FAULT_KINDS are the faults a scenario may schedule; each names what it does to whom:
 * - kill-leader / kill-follower: `kill -9` a node, restart it after `durationS`;
 * - kill-holder: `kill -9` a worker that holds a lease (not restarted);
 * - pause-leader / pause-holder: SIGSTOP a node or a lease-holding worker for `durationS`
 *   (longer than the election timeout or the TTL: the zombie that wakes up), then SIGCONT;
 * - partition-leader / partition-minority / partition-one-way / partition-bridge: a network
 *   partition (leader isolated; a minority cut from the majority; the leader cannot reach one
 *   follower; the others split into two halves joined only by one node), healed after `durationS`;
 * - drop-connection: every peer connection from and to the leader is reset (in the link proxies);
 * - latency: every peer link delayed by `latencyMs` ± `jitterMs` (reordering across links);
 * - clock-skew: a node's wall clock offset by `offsetMs` (≤ 250) and its rate drifted by `rate`;
 * - clock-jump: a node's wall clock jumps by `offsetMs` (forward or back), back after `durationS`;
 * - client-clock-jump: a worker on its own clock (`workload.clocks`) jumps forward by `offsetMs`
 *   (monotonic clock included, so never back: no heal);
 * - disk-full / disk-readonly: a node's data disk (a small tmpfs) fills up / turns read-only;
 * - wipe-data: a follower is killed, its data folder wiped, and it is removed and re-added
 *   (learner, then promoted) as an operator would;
 * - membership-change: a new node is added as a learner, promoted, and a follower removed;
 * - transfer-leader: leadership is transferred to a follower;
 * - restart-all: every node is killed and restarted (a full-cluster restart);
 * - stop-before-write: a worker (task h17b's, started with --stop-before-write-at-ms) stops
 *   itself with SIGSTOP right before a write, holding a lease; it is resumed after `durationS`
 *   and writes with its old fence (what a store that skips the fence check must be caught at).
 */
export const FAULT_KINDS = [
  'kill-leader',
  'kill-follower',
  'kill-holder',
  'pause-leader',
  'pause-holder',
  'partition-leader',
  'partition-minority',
  'partition-one-way',
  'partition-bridge',
  'latency',
  'drop-connection',
  'clock-skew',
  'clock-jump',
  'client-clock-jump',
  'disk-full',
  'disk-readonly',
  'wipe-data',
  'membership-change',
  'transfer-leader',
  'restart-all',
  'stop-before-write',
] as const;

/** FaultKind is one of FAULT_KINDS. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** BROKEN_BUILDS are the deliberately broken builds a scenario may run against (test-only). */
export const BROKEN_BUILDS = ['server-reuses-fence', 'server-never-expires', 'store-skips-fence'] as const;

/** CLIENT_SKEW_MS_MAX bounds a worker clock's initial offset (DESIGN.md assumes skew < 250 ms). */
export const CLIENT_SKEW_MS_MAX = 250;

/** NODE_SKEW_MS_MAX bounds a node clock's initial offset (DESIGN.md assumes skew < 250 ms). */
export const NODE_SKEW_MS_MAX = 250;

/** NODES_MAX is the largest node number a scenario may name (5 nodes, plus joiners). */
export const NODES_MAX = 5;

/** DURATION_S_MAX bounds a scenario's length; FAULTS_MAX its faults (random ones included). */
export const DURATION_S_MAX = 3600;
export const FAULTS_MAX = 100;

const seconds = { type: 'number', minimum: 0, maximum: DURATION_S_MAX } as const;

const fault = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: {
    kind: { enum: FAULT_KINDS },
    at: { ...seconds, description: 'seconds after the workload starts' },
    durationS: { ...seconds, description: 'how long the fault lasts before its heal' },
    random: {
      type: 'object',
      additionalProperties: false,
      required: ['count', 'from', 'to'],
      description: 'count faults at seeded random times in [from, to] seconds (instead of at)',
      properties: {
        count: { type: 'integer', minimum: 1, maximum: FAULTS_MAX },
        from: seconds,
        to: seconds,
      },
    },
    latencyMs: { type: 'integer', minimum: 0, maximum: 5000 },
    jitterMs: { type: 'integer', minimum: 0, maximum: 5000 },
    offsetMs: { type: 'integer', minimum: -3_600_000, maximum: 3_600_000 },
    rate: { type: 'number', minimum: 0.5, maximum: 2 },
    worker: {
      type: 'integer',
      minimum: 1,
      maximum: 20,
      description:
        'the worker (w<worker>) a kill-holder, pause-holder or client-clock-jump picks: it waits until that one holds',
    },
  },
  oneOf: [{ required: ['at'] }, { required: ['random'] }],
} as const;

const slo = {
  type: 'object',
  additionalProperties: false,
  required: ['fault'],
  properties: {
    fault: { enum: FAULT_KINDS },
    failoverMsMax: { type: 'number', minimum: 0 },
    regrantMsMax: { type: 'number', minimum: 0 },
    availabilityMin: { type: 'number', minimum: 0, maximum: 1 },
    recoveryMsMax: { type: 'number', minimum: 0 },
  },
} as const;

const scenario = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'suite', 'faults'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
    description: { type: 'string' },
    suite: { enum: ['short', 'long', 'broken'] },
    nodes: { enum: [3, 5] },
    durationS: { type: 'number', minimum: 5, maximum: DURATION_S_MAX },
    electionTimeoutMs: { type: 'integer', minimum: 300, maximum: 30_000 },
    workload: {
      type: 'object',
      additionalProperties: false,
      properties: {
        workers: { type: 'integer', minimum: 1, maximum: 20 },
        scopes: { type: 'integer', minimum: 1, maximum: 50 },
        ttlMs: { type: 'integer', minimum: 500, maximum: 60_000 },
        clocks: {
          type: 'array',
          description:
            'worker clocks (libfaketime, monotonic clock included): w<worker> starts skewed and drifting',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['worker'],
            properties: {
              worker: { type: 'integer', minimum: 1, maximum: 20 },
              offsetMs: { type: 'integer', minimum: -CLIENT_SKEW_MS_MAX, maximum: CLIENT_SKEW_MS_MAX },
              rate: { type: 'number', minimum: 0.5, maximum: 2 },
            },
          },
        },
      },
    },
    nodeClocks: {
      type: 'array',
      description:
        'node clocks (libfaketime, monotonic clock included, so lease time drifts too): n<node> runs skewed and drifting for its whole life',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['node'],
        properties: {
          node: { type: 'integer', minimum: 1, maximum: NODES_MAX },
          offsetMs: { type: 'integer', minimum: -NODE_SKEW_MS_MAX, maximum: NODE_SKEW_MS_MAX },
          rate: { type: 'number', minimum: 0.5, maximum: 2 },
        },
      },
    },
    leader: {
      type: 'integer',
      minimum: 1,
      maximum: NODES_MAX,
      description: 'n<leader> is made the leader (a leadership transfer) before the workload starts',
    },
    faults: { type: 'array', maxItems: FAULTS_MAX, items: fault },
    slo: { type: 'array', items: slo },
    broken: { enum: BROKEN_BUILDS },
    expect: { enum: ['valid', 'invalid'], description: 'invalid for a broken build: a checker must flag it' },
  },
} as const;

/** SCENARIOS_SCHEMA is the JSON schema of chaos-scenarios.yaml (validated with ajv). */
export const SCENARIOS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'scenarios'],
  properties: {
    version: { const: 1 },
    scenarios: { type: 'array', minItems: 1, items: scenario },
  },
} as const;

/** FaultSpec is one fault entry of a scenario, as written. */
export interface FaultSpec {
  readonly kind: FaultKind;
  readonly at?: number;
  readonly durationS?: number;
  readonly random?: { readonly count: number; readonly from: number; readonly to: number };
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  readonly offsetMs?: number;
  readonly rate?: number;
  readonly worker?: number;
}

/** SloSpec is one expected SLO of a scenario (the slo.json entry the checkers read). */
export interface SloSpec {
  readonly fault: FaultKind;
  readonly failoverMsMax?: number;
  readonly regrantMsMax?: number;
  readonly availabilityMin?: number;
  readonly recoveryMsMax?: number;
}

/** WorkerClock is one worker's clock for the whole run: `w<worker>` starts `offsetMs` off, drifting at `rate`. */
export interface WorkerClock {
  readonly worker: number;
  readonly offsetMs: number;
  readonly rate: number;
}

/** NodeClock is one node's clock for its whole life: `n<node>` runs `offsetMs` off, drifting at `rate`. */
export interface NodeClock {
  readonly node: number;
  readonly offsetMs: number;
  readonly rate: number;
}

/** Scenario is one experiment of chaos-scenarios.yaml, with its defaults filled in. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly suite: 'short' | 'long' | 'broken';
  readonly nodes: 3 | 5;
  readonly durationS: number;
  readonly electionTimeoutMs: number;
  readonly workload: {
    readonly workers: number;
    readonly scopes: number;
    readonly ttlMs: number;
    readonly clocks: readonly WorkerClock[];
  };
  /** nodeClocks are the nodes that run on their own clock (monotonic clock included). */
  readonly nodeClocks: readonly NodeClock[];
  /** leader: n<leader> is made the leader before the workload starts (undefined: whoever won). */
  readonly leader: number | undefined;
  readonly faults: readonly FaultSpec[];
  readonly slo: readonly SloSpec[];
  readonly broken: (typeof BROKEN_BUILDS)[number] | undefined;
  readonly expect: 'valid' | 'invalid';
}
