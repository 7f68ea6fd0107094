import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Message, TransportHandler } from '../../src/index';
import { PeerTransport, TRANSPORT_DEFAULTS } from '../../src/index';
import { loadRaftPeerService } from '../../src/transport/proto';
import { freePort, issuePeerPki, nodeTlsFiles, quiet, waitFor } from './transport-test-helpers';

/** RawPeerClient speaks the peer protocol directly, to send what a well-behaved peer never would. */
interface RawPeerClient {
  Stream(callback: (e: grpc.ServiceError | null) => void): grpc.ClientWritableStream<unknown>;
  InstallSnapshot(callback: (e: grpc.ServiceError | null) => void): grpc.ClientWritableStream<unknown>;
  close(): void;
}

function rawClient(address: string): RawPeerClient {
  return new (loadRaftPeerService().Client)(
    address,
    grpc.credentials.createInsecure(),
  ) as unknown as RawPeerClient;
}

async function stopBoth(a: PeerTransport, b: PeerTransport): Promise<void> {
  await a.stop();
  await b.stop();
}

interface Recorder extends TransportHandler {
  readonly messages: Message[];
  readonly lost: string[];
}

function recorder(): Recorder {
  const messages: Message[] = [];
  const lost: string[] = [];
  return {
    messages,
    lost,
    onMessage: (m) => messages.push(m),
    onPeerLost: (p) => lost.push(p),
    onUndeliverable: () => {},
  };
}

async function pair(
  clusterB = 'c1',
  /** pkiDir, when given, holds ca.crt and <id>.crt/.key for a and b: the pair speaks mutual TLS. */
  pkiDir?: string,
): Promise<{ a: PeerTransport; b: PeerTransport; ra: Recorder; rb: Recorder }> {
  const [pa, pb] = [await freePort(), await freePort()];
  const ra = recorder();
  const rb = recorder();
  const settings = { ...TRANSPORT_DEFAULTS, clusterId: 'c1', snapshotChunkBytes: 1024 };
  const tlsOf = (id: string): object => (pkiDir === undefined ? {} : { peerTls: nodeTlsFiles(pkiDir, id) });
  const a = await PeerTransport.start({
    id: 'a',
    listenAddress: `127.0.0.1:${pa}`,
    peers: new Map([['b', `127.0.0.1:${pb}`]]),
    settings: { ...settings, ...tlsOf('a') },
    handler: ra,
    logger: quiet,
  });
  const b = await PeerTransport.start({
    id: 'b',
    listenAddress: `127.0.0.1:${pb}`,
    peers: new Map([['a', `127.0.0.1:${pa}`]]),
    settings: { ...settings, clusterId: clusterB, ...tlsOf('b') },
    handler: rb,
    logger: quiet,
  });
  return { a, b, ra, rb };
}

const heartbeat = (from: string, to: string): Message => ({
  type: 'heartbeat',
  from,
  to,
  term: 3,
  commit: 7,
  readSeq: 1,
});

describe('PeerTransport', () => {
  jest.setTimeout(30_000);

  it('delivers messages between two peers, entries and all', async () => {
    const { a, b, rb } = await pair();
    try {
      const append: Message = {
        type: 'append',
        from: 'a',
        to: 'b',
        term: 3,
        prevLogIndex: 4,
        prevLogTerm: 2,
        commit: 4,
        entries: [
          { kind: 'command', index: 5, term: 3, data: Buffer.from('hello') },
          { kind: 'noop', index: 6, term: 3 },
          {
            kind: 'config',
            index: 7,
            term: 3,
            membership: { voters: ['a', 'b'], learners: ['c'], addresses: { c: '127.0.0.1:9003' } },
            change: { type: 'addLearner', node: 'c', address: '127.0.0.1:9003' },
          },
        ],
      };
      a.send([heartbeat('a', 'b'), append]);
      await waitFor('two messages', () => rb.messages.length === 2);
      expect(rb.messages[0]).toEqual(heartbeat('a', 'b'));
      const got = rb.messages[1]!;
      expect(got.type).toBe('append');
      if (got.type === 'append') {
        expect(got.entries.map((e) => e.kind)).toEqual(['command', 'noop', 'config']);
        const first = got.entries[0]!;
        expect(first.kind === 'command' && Buffer.from(first.data).toString()).toBe('hello');
        expect(got.entries[2]).toEqual({
          kind: 'config',
          index: 7,
          term: 3,
          membership: { voters: ['a', 'b'], learners: ['c'], addresses: { c: '127.0.0.1:9003' } },
          change: { type: 'addLearner', node: 'c', address: '127.0.0.1:9003' },
        });
      }
      expect(b.stats().messagesReceived).toBe(2);
    } finally {
      await stopBoth(a, b);
    }
  });

  it('streams a multi-chunk snapshot and delivers it whole', async () => {
    const { a, b, rb } = await pair();
    try {
      const data = Buffer.alloc(10_000 + 17, 7);
      data.write('start');
      a.send([
        {
          type: 'snapshot',
          from: 'a',
          to: 'b',
          term: 3,
          snapshot: { meta: { index: 40, term: 3, membership: { voters: ['a', 'b'], learners: [] } }, data },
        },
      ]);
      await waitFor('the snapshot', () => rb.messages.length === 1);
      const m = rb.messages[0]!;
      expect(m.type === 'snapshot' && Buffer.from(m.snapshot.data).equals(data)).toBe(true);
      await waitFor('the sender to count it', () => a.stats().snapshotsSent === 1);
      expect(b.stats().snapshotsReceived).toBe(1);
    } finally {
      await stopBoth(a, b);
    }
  });

  it('refuses a peer of another cluster and counts it', async () => {
    const { a, b, rb } = await pair('other-cluster');
    try {
      a.send([heartbeat('a', 'b')]);
      await waitFor('the refusal to be counted', () => b.stats().refusedClusterMismatch >= 1);
      expect(rb.messages).toHaveLength(0);
    } finally {
      await stopBoth(a, b);
    }
  });

  it('refuses messages from a node outside the configuration and counts them', async () => {
    const { a, b, rb } = await pair();
    const client = rawClient(b.address);
    try {
      const error = await new Promise<grpc.ServiceError | null>((resolve) => {
        const call = client.Stream(resolve);
        call.write({ from: 'intruder', clusterId: 'c1', messages: [] });
      });
      expect(error?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(b.stats().refusedUnknownPeer).toBe(1);
      expect(rb.messages).toHaveLength(0);
    } finally {
      client.close();
      await stopBoth(a, b);
    }
  });

  it('drops and counts malformed messages but keeps the stream for the good ones', async () => {
    const { a, b, rb } = await pair();
    const client = rawClient(b.address);
    try {
      const call = client.Stream(() => {});
      const good = { type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 1, readSeq: 0 };
      call.write({
        from: 'a',
        clusterId: 'c1',
        messages: [
          { type: 'bogus', from: 'a', to: 'b', term: 1 },
          { ...good, from: 'someone-else' },
          {
            type: 'append',
            from: 'a',
            to: 'b',
            term: 3,
            prevLogIndex: 1,
            prevLogTerm: 1,
            commit: 0,
            entries: [{ index: 9, term: 3, kind: 'ENTRY_KIND_NOOP' }],
          },
          good,
        ],
      });
      await waitFor('the good message', () => rb.messages.length === 1);
      expect(b.stats().messagesMalformed).toBe(3);
      call.end();
    } finally {
      client.close();
      await stopBoth(a, b);
    }
  });

  it('never delivers a snapshot whose stream ends early', async () => {
    const { a, b, rb } = await pair();
    const client = rawClient(b.address);
    try {
      const error = await new Promise<grpc.ServiceError | null>((resolve) => {
        const call = client.InstallSnapshot(resolve);
        call.write({
          from: 'a',
          to: 'b',
          term: 3,
          clusterId: 'c1',
          meta: { index: 9, term: 3, membership: { voters: ['a', 'b'], learners: [] } },
          totalBytes: 5000,
          offset: 0,
          data: Buffer.alloc(1000),
        });
        call.end();
      });
      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error?.details).toMatch(/ended after 1000 of 5000 bytes/);
      expect(rb.messages).toHaveLength(0);
    } finally {
      client.close();
      await stopBoth(a, b);
    }
  });

  it('reports the peer lost when the other side stops', async () => {
    const { a, b, ra } = await pair();
    try {
      a.send([heartbeat('a', 'b')]);
      await waitFor('the connection to be up', () => a.peerStatus()['b']?.connected === true);
      await b.stop();
      await waitFor('the loss to be reported', () => ra.lost.includes('b'));
    } finally {
      await a.stop();
    }
  });
});

describe('PeerTransport over mutual TLS', () => {
  jest.setTimeout(60_000);
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'peer-transport-tls-'));
    await issuePeerPki(dir, 'c1', ['a', 'b']);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** CONNECT_TRIES_MAX bounds sendUntilDelivered. */
  const CONNECT_TRIES_MAX = 20;

  /**
   * sendUntilDelivered sends heartbeats from a until b has one. b's port takes connections only
   * once it has read its certificate files, and a link drops what was queued on a failed stream
   * (Raft sends again; this does it for the test).
   */
  async function sendUntilDelivered(a: PeerTransport, rb: Recorder): Promise<void> {
    for (let i = 0; i < CONNECT_TRIES_MAX && rb.messages.length === 0; i++) {
      a.send([heartbeat('a', 'b')]);
      await waitFor(
        'a heartbeat or a dropped stream',
        () => rb.messages.length > 0 || a.stats().messagesDropped > i,
        1000,
      ).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor('the first heartbeat', () => rb.messages.length > 0);
  }

  /** TLS_BATCHES is how many batches the certificate-read test sends, one at a time. */
  const TLS_BATCHES = 60;

  it("reads the caller's certificate once per stream, not once per batch", async () => {
    const reads = jest.spyOn(tls.TLSSocket.prototype, 'getPeerCertificate');
    const { a, b, rb } = await pair('c1', dir);
    try {
      await sendUntilDelivered(a, rb);
      // Only what connecting cost so far (the handshake's checks on both ends, the first batch's).
      const afterConnect = reads.mock.calls.length;
      const connected = rb.messages.length;
      for (let i = 1; i <= TLS_BATCHES; i++) {
        a.send([heartbeat('a', 'b')]);
        await waitFor(`batch ${i}`, () => rb.messages.length === connected + i);
      }
      expect(b.stats().messagesReceived).toBe(connected + TLS_BATCHES);
      expect(b.stats().refusedUnauthenticated).toBe(0);
      // Each heartbeat went alone in its own batch, on the one stream: none read the certificate again.
      expect(reads.mock.calls.length - afterConnect).toBe(0);
    } finally {
      reads.mockRestore();
      await stopBoth(a, b);
    }
  });

  it('refuses a batch claiming another member on a stream its certificate was accepted on', async () => {
    const { a, b, rb } = await pair('c1', dir);
    const files = nodeTlsFiles(dir, 'a');
    const client = new (loadRaftPeerService().Client)(
      b.address,
      grpc.credentials.createSsl(
        readFileSync(files.caFile),
        readFileSync(files.keyFile),
        readFileSync(files.certFile),
        { checkServerIdentity: () => undefined },
      ),
    ) as unknown as RawPeerClient;
    try {
      await sendUntilDelivered(a, rb);
      const connected = rb.messages.length;
      const good = { type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 1, readSeq: 0 };
      const error = await new Promise<grpc.ServiceError | null>((resolve) => {
        const call = client.Stream(resolve);
        call.write({ from: 'a', clusterId: 'c1', messages: [good] });
        void waitFor('the accepted batch', () => rb.messages.length === connected + 1).then(() =>
          // a's certificate, claiming b's other peer: refused though the stream was already accepted.
          call.write({ from: 'b', clusterId: 'c1', messages: [{ ...good, from: 'b' }] }),
        );
      });
      expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(error?.details).toMatch(
        /b must present a certificate naming spiffe:\/\/c1\/node\/b; got a certificate of node a/,
      );
      expect(rb.messages).toHaveLength(connected + 1);
      expect(b.stats().refusedUnauthenticated).toBe(1);
    } finally {
      client.close();
      await stopBoth(a, b);
    }
  });
});
