import * as grpc from '@grpc/grpc-js';
import type { Message, TransportSettings } from '../../src/index';
import {
  PeerTransport,
  RAFT_NODE_DEFAULTS,
  TRANSPORT_DEFAULTS,
  validateRaftNodeConfig,
} from '../../src/index';
import { loadRaftPeerService } from '../../src/transport/proto';
import { freePort, quiet, waitFor } from './transport-test-helpers';
import { SnapshotReceipts } from '../../src/transport/snapshot-receipts';

describe('SnapshotReceipts', () => {
  const limits = { snapshotStreamsMax: 2, snapshotBufferBytesMax: 10_000 };

  it('admits transfers under both bounds and frees their place and bytes when they end', () => {
    const receipts = new SnapshotReceipts(limits);
    const a = receipts.begin('a', 4000, () => {});
    const c = receipts.begin('c', 6000, () => {});
    expect('receipt' in a && 'receipt' in c).toBe(true);
    expect([receipts.streams, receipts.bytes]).toEqual([2, 10_000]);
    if ('receipt' in a) {
      a.receipt.end();
      a.receipt.end();
    }
    expect([receipts.streams, receipts.bytes]).toEqual([1, 6000]);
  });

  it('refuses a transfer past snapshotStreamsMax, naming the limit and its value', () => {
    const receipts = new SnapshotReceipts(limits);
    receipts.begin('a', 1, () => {});
    receipts.begin('b', 1, () => {});
    const refused = receipts.begin('c', 1, () => {});
    expect(refused).toMatchObject({ limit: 'snapshotStreamsMax' });
    expect('refused' in refused && refused.refused).toMatch(/limit snapshotStreamsMax \(2\) reached/);
    expect([receipts.streams, receipts.bytes]).toEqual([2, 2]);
  });

  it('refuses a transfer that would buffer past snapshotBufferBytesMax, naming the limit and its value', () => {
    const receipts = new SnapshotReceipts(limits);
    receipts.begin('a', 6000, () => {});
    const refused = receipts.begin('c', 4001, () => {});
    expect(refused).toMatchObject({ limit: 'snapshotBufferBytesMax' });
    expect('refused' in refused && refused.refused).toMatch(/limit snapshotBufferBytesMax \(10000\) reached/);
    expect([receipts.streams, receipts.bytes]).toEqual([1, 6000]);
  });

  it('aborts an older transfer from the same peer when it starts a new one', () => {
    const receipts = new SnapshotReceipts(limits);
    const aborted: string[] = [];
    receipts.begin('a', 9000, () => aborted.push('first'));
    receipts.begin('b', 1000, () => aborted.push('b'));
    const second = receipts.begin('a', 9000, () => aborted.push('second'));
    expect('receipt' in second).toBe(true);
    expect(aborted).toEqual(['first']);
    expect([receipts.streams, receipts.bytes]).toEqual([2, 10_000]);
  });
});

describe('PeerTransport snapshot limits', () => {
  jest.setTimeout(30_000);

  interface RawPeerClient {
    InstallSnapshot(
      options: grpc.CallOptions,
      callback: (e: grpc.ServiceError | null) => void,
    ): grpc.ClientWritableStream<unknown>;
    close(): void;
  }

  const meta = { index: 9, term: 3, membership: { voters: ['a', 'b', 'c'], learners: [] } };

  /** chunk is one InstallSnapshot chunk of a transfer of `totalBytes` from `from` to b. */
  const chunk = (from: string, totalBytes: number, offset: number, bytes: number): object => ({
    from,
    to: 'b',
    term: 3,
    clusterId: 'c1',
    meta: offset === 0 ? meta : null,
    totalBytes,
    offset,
    data: Buffer.alloc(bytes, 1),
  });

  /** receiver starts node b, which knows peers a and c, with `limits` over the defaults. */
  async function receiver(
    limits: Partial<TransportSettings>,
  ): Promise<{ b: PeerTransport; got: Message[]; client: RawPeerClient }> {
    const got: Message[] = [];
    const b = await PeerTransport.start({
      id: 'b',
      listenAddress: `127.0.0.1:${await freePort()}`,
      peers: new Map([
        ['a', `127.0.0.1:${await freePort()}`],
        ['c', `127.0.0.1:${await freePort()}`],
      ]),
      settings: { ...TRANSPORT_DEFAULTS, clusterId: 'c1', ...limits },
      handler: { onMessage: (m) => got.push(m), onPeerLost: () => {}, onUndeliverable: () => {} },
      logger: quiet,
    });
    const client = new (loadRaftPeerService().Client)(
      b.address,
      grpc.credentials.createInsecure(),
    ) as unknown as RawPeerClient;
    return { b, got, client };
  }

  /** open starts a transfer and sends its first chunk; `status` settles with its outcome (within 5 s). */
  function open(
    client: RawPeerClient,
    from: string,
    totalBytes: number,
    firstBytes: number,
  ): { call: grpc.ClientWritableStream<unknown>; status: Promise<grpc.ServiceError | null> } {
    let call!: grpc.ClientWritableStream<unknown>;
    const status = new Promise<grpc.ServiceError | null>((resolve) => {
      // A deadline bounds every transfer of these tests.
      call = client.InstallSnapshot({ deadline: Date.now() + 5000 }, resolve);
    });
    call.write(chunk(from, totalBytes, 0, firstBytes));
    return { call, status };
  }

  it('refuses a transfer past snapshotStreamsMax with RESOURCE_EXHAUSTED, and the one under it completes', async () => {
    const { b, got, client } = await receiver({ snapshotStreamsMax: 1 });
    try {
      const first = open(client, 'a', 2000, 1000);
      await waitFor('the first transfer to be admitted', () => b.snapshotsReceiving().streams === 1);
      const second = open(client, 'c', 2000, 1000);
      const refused = await second.status;
      expect(refused?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(refused?.details).toMatch(/limit snapshotStreamsMax \(1\) reached/);
      expect(b.stats().snapshotsRefusedLimit).toBe(1);
      first.call.write(chunk('a', 2000, 1000, 1000));
      first.call.end();
      expect(await first.status).toBeNull();
      await waitFor('the snapshot to be delivered', () => got.length === 1);
      expect(got[0]).toMatchObject({ type: 'snapshot', from: 'a' });
      // Its place is free again: the next transfer is admitted.
      const third = open(client, 'c', 1000, 1000);
      third.call.end();
      expect(await third.status).toBeNull();
      await waitFor('the second snapshot', () => got.length === 2);
    } finally {
      client.close();
      await b.stop();
    }
  });

  it('refuses a transfer past snapshotBufferBytesMax with RESOURCE_EXHAUSTED before buffering it', async () => {
    const { b, client } = await receiver({ snapshotBytesMax: 8192, snapshotBufferBytesMax: 8192 });
    try {
      const first = open(client, 'a', 6000, 1000);
      await waitFor('the first transfer to be admitted', () => b.snapshotsReceiving().bytes === 6000);
      const refused = await open(client, 'c', 6000, 1000).status;
      expect(refused?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(refused?.details).toMatch(/limit snapshotBufferBytesMax \(8192\) reached/);
      first.call.cancel();
      await first.status;
      await waitFor('the cancelled transfer to free its bytes', () => b.snapshotsReceiving().bytes === 0);
    } finally {
      client.close();
      await b.stop();
    }
  });

  it('lets a peer that restarted its transfer replace the abandoned one', async () => {
    const { b, got, client } = await receiver({ snapshotStreamsMax: 1 });
    try {
      const abandoned = open(client, 'a', 3000, 1000);
      await waitFor('the first transfer to be admitted', () => b.snapshotsReceiving().streams === 1);
      const restarted = open(client, 'a', 1000, 1000);
      restarted.call.end();
      expect(await restarted.status).toBeNull();
      const superseded = await abandoned.status;
      expect(superseded?.code).toBe(grpc.status.ABORTED);
      await waitFor('the restarted snapshot', () => got.length === 1);
    } finally {
      client.close();
      await b.stop();
    }
  });

  it('refuses a snapshotBufferBytesMax below snapshotBytesMax at start, naming it', () => {
    expect(() =>
      validateRaftNodeConfig({
        ...RAFT_NODE_DEFAULTS,
        clusterId: 'c1',
        id: 'n1',
        dataDir: 'data/n1',
        peerAddress: '127.0.0.1:7101',
        peers: {},
        bootstrapVoters: ['n1'],
        initialClusterState: 'new',
        snapshotBufferBytesMax: RAFT_NODE_DEFAULTS.snapshotBytesMax - 1,
      }),
    ).toThrow(/snapshotBufferBytesMax must be an integer in \[1073741824, /);
  });
});
