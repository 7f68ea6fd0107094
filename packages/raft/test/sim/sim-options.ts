import type { Rng } from '../../src/core/index';
import type { NetworkRates } from './network';

/**
 * SimOptions configure one simulated schedule. Times are in node ticks unless named `Units`
 * (TIME_UNITS_PER_TICK units make a tick).
 */
export interface SimOptions {
  readonly seed: number;
  /** nodes is the initial number of voters: 3, 5 or 7. */
  readonly nodes: number;
  /** faultTicks is the length of the fault phase, during which every fault is on. */
  readonly faultTicks: number;
  /** livenessTicksMax bounds the liveness phase: by then a fresh proposal must be applied on every live member. */
  readonly livenessTicksMax: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly unreachableCampaignDelayTicksMax: number;
  /** traceLines is how many trailing events a failure prints. */
  readonly traceLines: number;
  /** captureTrace keeps every trace line (for the reproducibility test). */
  readonly captureTrace: boolean;
  /** eventsMax bounds the events of one schedule; passing it is a failure (a livelock or a runaway). */
  readonly eventsMax: number;
  /** addedNodesMax bounds the learners the schedule may add. */
  readonly addedNodesMax: number;
  /**
   * diskLoss adds the lost-disk fault: a node crashes and restarts with an empty store that
   * joins (a new incarnation), and the schedule removes and re-adds members bound to a lost one, as
   * an operator would. It also gives every core an incarnation. Off, the schedules (and so the
   * regression seeds) are exactly those of before the fault existed.
   */
  readonly diskLoss: boolean;
}

/**
 * SIM_DEFAULTS: electionTicks 10 and heartbeatTicks 2 keep schedules short, and a 300-tick fault
 * phase (about 20 elections' worth of faults) lets the suite play 2,100 schedules in about 15 s on
 * one idle core (longer phases, `--fault-ticks 1000`, find rarer bugs; see regression-seeds.ts).
 *
 * livenessTicksMax is 20 election timeouts. After the heal, a leader needs one randomized
 * timeout (under 2·electionTicks) plus a pre-vote and a vote round (each under 3 ticks of delay);
 * followers of a leader that died may first wait out stickiness (one more timeout), and a split
 * vote costs another timeout. The probe then needs a few heartbeats to commit and one snapshot to
 * reach a far-behind member. 200 ticks leave room for five or six unlucky election rounds; the
 * worst seen over 6,000 default schedules was 72 ticks.
 */
export const SIM_DEFAULTS: Omit<SimOptions, 'seed' | 'nodes'> = {
  faultTicks: 300,
  livenessTicksMax: 200,
  electionTicks: 10,
  heartbeatTicks: 2,
  unreachableCampaignDelayTicksMax: 3,
  traceLines: 60,
  captureTrace: false,
  eventsMax: 2_000_000,
  addedNodesMax: 3,
  diskLoss: false,
};

/** nodesForSeed rotates schedules over 3, 5 and 7 nodes. */
export function nodesForSeed(seed: number): number {
  return [3, 5, 7][seed % 3]!;
}

/** validateSimOptions refuses options outside what the simulator supports, naming the setting. */
export function validateSimOptions(o: SimOptions): void {
  const check = (name: string, value: number, min: number, max: number): void => {
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new Error(`sim options: ${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
    }
  };
  check('seed', o.seed, 0, 0xffffffff);
  check('nodes', o.nodes, 1, 7);
  check('faultTicks', o.faultTicks, 0, 1_000_000);
  check('livenessTicksMax', o.livenessTicksMax, 1, 1_000_000);
  check('electionTicks', o.electionTicks, 2, 10_000);
  check('heartbeatTicks', o.heartbeatTicks, 1, o.electionTicks - 1);
  check('traceLines', o.traceLines, 1, 100_000);
  check('eventsMax', o.eventsMax, 1, 1_000_000_000);
  check('addedNodesMax', o.addedNodesMax, 0, 20);
}

/**
 * FaultRates are one schedule's fault mix, drawn from its seed so that the seeds together cover
 * calm and stormy networks. Gaps are in ticks; chances in parts per thousand.
 */
export interface FaultRates {
  readonly network: NetworkRates;
  /** chaosGapTicksMax bounds the gap between two fault actions (crash, partition, transfer, …). */
  readonly chaosGapTicksMax: number;
  /** clientGapTicksMax bounds the gap between two client requests (proposal or read). */
  readonly clientGapTicksMax: number;
  /** compactPerMille is the chance a node snapshots its state machine after applying entries. */
  readonly compactPerMille: number;
  /** slowPersistPerMille is the chance a persist takes 3 to 8 ticks instead of under 1.5. */
  readonly slowPersistPerMille: number;
  /** crashAfterAckPerMille is the chance a node crashes just after sending a vote grant or an append acknowledgement. */
  readonly crashAfterAckPerMille: number;
  /** learnerCatchUpEntriesMax is the cores' promotion bound: small values make the core refuse promotions. */
  readonly learnerCatchUpEntriesMax: number;
  /** crashedMax bounds the nodes down at once (a minority of the initial voters, so progress stays possible). */
  readonly crashedMax: number;
}

function pick<T>(rng: Rng, options: readonly T[]): T {
  return options[rng.intBelow(options.length)]!;
}

/** drawFaultRates draws a schedule's fault mix from the shared PRNG. */
export function drawFaultRates(rng: Rng, nodes: number): FaultRates {
  return {
    network: {
      dropPerMille: pick(rng, [0, 10, 50, 150]),
      duplicatePerMille: pick(rng, [0, 20, 50]),
      ancientPerMille: pick(rng, [0, 5, 20]),
      delayUnitsMin: 1,
      delayUnitsMax: pick(rng, [5, 15, 25]),
      ancientDelayUnitsMax: 300,
    },
    chaosGapTicksMax: pick(rng, [4, 8, 16]),
    clientGapTicksMax: pick(rng, [1, 3, 6]),
    compactPerMille: pick(rng, [20, 100, 300]),
    slowPersistPerMille: pick(rng, [0, 30, 100]),
    crashAfterAckPerMille: pick(rng, [0, 10, 30]),
    learnerCatchUpEntriesMax: pick(rng, [5, 50, 1000]),
    crashedMax: Math.max(1, Math.floor((nodes - 1) / 2)),
  };
}
