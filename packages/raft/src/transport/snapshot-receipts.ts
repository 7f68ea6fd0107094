import type { NodeId } from '../core/index';
import type { TransportSettings } from './transport-types';

/** SnapshotReceipt is one admitted inbound snapshot transfer; `end` frees its place and bytes (idempotent). */
export interface SnapshotReceipt {
  end(): void;
}

/** SnapshotAdmission is a transfer admitted, or refused by the named limit (a sentence that names it and its value). */
export type SnapshotAdmission =
  | { readonly receipt: SnapshotReceipt }
  | { readonly refused: string; readonly limit: 'snapshotStreamsMax' | 'snapshotBufferBytesMax' };

interface Open {
  readonly abort: () => void;
  readonly receipt: SnapshotReceipt;
}

/**
 * SnapshotReceipts bounds what inbound snapshot transfers hold in memory: at most
 * snapshotStreamsMax transfers at once, reserving together at most snapshotBufferBytesMax bytes
 * (each reserves the size its first chunk declares, which snapshotBytesMax already bounds, before
 * anything is buffered). A peer sends one snapshot at a time, so a new transfer from a peer
 * that still has one open supersedes it: the older one is aborted and its bytes freed, and a
 * sender that restarted its transfer is never refused by its own abandoned stream.
 */
export class SnapshotReceipts {
  private readonly open = new Map<NodeId, Open>();
  private reservedBytes = 0;

  constructor(
    private readonly settings: Pick<TransportSettings, 'snapshotStreamsMax' | 'snapshotBufferBytesMax'>,
  ) {}

  /** streams is the number of open transfers. */
  get streams(): number {
    return this.open.size;
  }

  /** bytes is the number of bytes the open transfers reserve. */
  get bytes(): number {
    return this.reservedBytes;
  }

  /**
   * begin admits a transfer of `totalBytes` from `peer`, first aborting (`abort` of the older
   * transfer) one the same peer still has open, or refuses it, changing nothing else.
   */
  begin(peer: NodeId, totalBytes: number, abort: () => void): SnapshotAdmission {
    this.open.get(peer)?.abort();
    this.open.get(peer)?.receipt.end();
    const { snapshotStreamsMax, snapshotBufferBytesMax } = this.settings;
    if (this.open.size >= snapshotStreamsMax) {
      return {
        limit: 'snapshotStreamsMax',
        refused: `${this.open.size} snapshot transfers are already being received: limit snapshotStreamsMax (${snapshotStreamsMax}) reached; retry later`,
      };
    }
    if (this.reservedBytes + totalBytes > snapshotBufferBytesMax) {
      return {
        limit: 'snapshotBufferBytesMax',
        refused: `a snapshot of ${totalBytes} bytes would make ${this.reservedBytes + totalBytes} bytes buffered: limit snapshotBufferBytesMax (${snapshotBufferBytesMax}) reached; retry later`,
      };
    }
    let ended = false;
    const receipt: SnapshotReceipt = {
      end: () => {
        if (ended) return;
        ended = true;
        this.reservedBytes -= totalBytes;
        if (this.open.get(peer)?.receipt === receipt) this.open.delete(peer);
      },
    };
    this.reservedBytes += totalBytes;
    this.open.set(peer, { abort, receipt });
    return { receipt };
  }
}
