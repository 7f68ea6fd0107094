import type { Message, NodeId, Rng } from '../../src/core/index';

/** NetworkRates are one schedule's message fault rates, in parts per thousand, and its delays in time units. */
export interface NetworkRates {
  /** dropPerMille is the chance a message is lost. */
  readonly dropPerMille: number;
  /** duplicatePerMille is the chance a message is delivered twice (each copy with its own delay). */
  readonly duplicatePerMille: number;
  /** ancientPerMille is the chance a message is held back for up to `ancientDelayUnitsMax` (it arrives from an old term). */
  readonly ancientPerMille: number;
  /** delayUnitsMin and delayUnitsMax bound the ordinary delivery delay; random delays also reorder. */
  readonly delayUnitsMin: number;
  readonly delayUnitsMax: number;
  readonly ancientDelayUnitsMax: number;
}

/** calmRates returns the network of the liveness phase: no loss, no duplicates, no ancient messages, ordinary delays. */
export function calmRates(rates: NetworkRates): NetworkRates {
  return { ...rates, dropPerMille: 0, duplicatePerMille: 0, ancientPerMille: 0 };
}

/**
 * Network models the links between simulated nodes: directed links may be cut (a symmetric
 * partition cuts both directions, a one-way fault one), and a message that crosses a live link
 * may be dropped, duplicated, delayed or held back for a long time. A cut is checked when the
 * message is sent; a message already in flight when a link is cut still arrives, as on a wire.
 * It decides only the fate of a message; the simulator queues the deliveries.
 */
export class Network {
  private readonly cut = new Set<string>();
  private ratesValue: NetworkRates;
  /** sent, dropped, duplicated and held count messages by fate, for the run's statistics. */
  sent = 0;
  dropped = 0;
  duplicated = 0;
  held = 0;

  /** constructor takes the PRNG shared with the rest of the simulation and the initial rates. */
  constructor(
    private readonly rng: Rng,
    rates: NetworkRates,
  ) {
    this.ratesValue = rates;
  }

  /** rates are the current fault rates. */
  get rates(): NetworkRates {
    return this.ratesValue;
  }

  /** setRates replaces the fault rates (the liveness phase calms the network). */
  setRates(rates: NetworkRates): void {
    this.ratesValue = rates;
  }

  private static link(from: NodeId, to: NodeId): string {
    return `${from}>${to}`;
  }

  /** isCut is true when messages from `from` to `to` are currently lost. */
  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(Network.link(from, to));
  }

  /** cutOneWay loses every message from `from` to `to` until healed. */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.cut.add(Network.link(from, to));
  }

  /** partition cuts every link between `side` and `rest`, both ways. */
  partition(side: readonly NodeId[], rest: readonly NodeId[]): void {
    for (const a of side) {
      for (const b of rest) {
        this.cut.add(Network.link(a, b));
        this.cut.add(Network.link(b, a));
      }
    }
  }

  /** healOneWay restores the link from `from` to `to`. */
  healOneWay(from: NodeId, to: NodeId): void {
    this.cut.delete(Network.link(from, to));
  }

  /** healAll restores every link. */
  healAll(): void {
    this.cut.clear();
  }

  /** cutCount is the number of directed links currently cut. */
  get cutCount(): number {
    return this.cut.size;
  }

  /**
   * fate decides what happens to `message`: the delays (in time units) after which its copies
   * arrive, none when it is lost. It draws from the shared PRNG, so it must be called exactly once
   * per message sent, in send order.
   */
  fate(message: Message): number[] {
    this.sent++;
    if (this.isCut(message.from, message.to)) {
      this.dropped++;
      return [];
    }
    const r = this.ratesValue;
    if (this.rng.intBelow(1000) < r.dropPerMille) {
      this.dropped++;
      return [];
    }
    const copies = this.rng.intBelow(1000) < r.duplicatePerMille ? 2 : 1;
    if (copies === 2) this.duplicated++;
    const delays: number[] = [];
    for (let c = 0; c < copies; c++) {
      if (this.rng.intBelow(1000) < r.ancientPerMille) {
        this.held++;
        delays.push(r.delayUnitsMax + 1 + this.rng.intBelow(r.ancientDelayUnitsMax));
      } else {
        delays.push(r.delayUnitsMin + this.rng.intBelow(r.delayUnitsMax - r.delayUnitsMin + 1));
      }
    }
    return delays;
  }
}
