import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { issueCa, issueClient, issueNode } from '@omnirelay/certs';
import { steadyViews, useLocalCluster, view, waitUntil } from './cluster-helpers';

jest.setTimeout(120_000);

/** RAFT_PROTO is the peer contract, read as any other gRPC client of the peer port would. */
const RAFT_PROTO = join(__dirname, '../../../../proto/raft.proto');

/** LARGEST_EXACT_TERM is 2^53 − 1 as a decimal string (uint64 on the wire, exact). */
const LARGEST_EXACT_TERM = '9007199254740991';

/** ForgedMessage is a RaftMessage as this test writes it: uint64 fields as decimal strings. */
interface ForgedMessage {
  readonly type: string;
  readonly from: string;
  readonly to: string;
  readonly term: string;
  readonly commit?: string;
  readonly lastLogIndex?: string;
}

/** raftPeerClient is a raw grpc-js client of the peer port at `peerAddress`. */
function raftPeerClient(peerAddress: string, credentials: grpc.ChannelCredentials): grpc.Client {
  const definition = protoLoader.loadSync(RAFT_PROTO, { longs: String, enums: String, defaults: true });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    omnirelay: { raft: { v1: { RaftPeer: grpc.ServiceClientConstructor } } };
  };
  return new root.omnirelay.raft.v1.RaftPeer(peerAddress, credentials);
}

/**
 * sendForged dials `peerAddress` with a raw grpc-js client, opens one RaftPeer.Stream claiming to
 * be `claimedId` (security off: nothing checks the claim), writes one batch and ends the stream
 * cleanly, so the node sees no peer loss. It resolves with the node's StreamSummary.
 */
async function sendForged(
  peerAddress: string,
  claimedId: string,
  messages: readonly ForgedMessage[],
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): Promise<{ messagesReceived: string }> {
  const client = raftPeerClient(peerAddress, credentials);
  try {
    return await new Promise((resolve, reject) => {
      const stream = (
        client as unknown as {
          Stream(
            callback: (e: grpc.ServiceError | null, r: { messagesReceived: string }) => void,
          ): grpc.ClientWritableStream<unknown>;
        }
      ).Stream((error, summary) => (error === null ? resolve(summary) : reject(error)));
      stream.write({ from: claimedId, clusterId: 'omnirelay', messages });
      stream.end();
    });
  } finally {
    client.close();
  }
}

/** probe asks `peerAddress` whether it may bootstrap as `claimedId` (RaftPeer.Probe), as a joining node does. */
async function probe(
  peerAddress: string,
  claimedId: string,
  credentials: grpc.ChannelCredentials,
): Promise<unknown> {
  const client = raftPeerClient(peerAddress, credentials);
  try {
    return await new Promise((resolve, reject) => {
      (
        client as unknown as {
          Probe(
            request: object,
            options: grpc.CallOptions,
            callback: (e: grpc.ServiceError | null, r: unknown) => void,
          ): void;
        }
      ).Probe({ from: claimedId, clusterId: 'omnirelay' }, { deadline: Date.now() + 5000 }, (e, r) =>
        e === null ? resolve(r) : reject(e),
      );
    });
  } finally {
    client.close();
  }
}

/** metricSample reads one sample of `name` with `labels` from a node's GET /metrics (0 when absent). */
async function metricSample(clientAddress: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://${clientAddress}/metrics`)).text();
  const prefix = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

/**
 * Issue 22: one heartbeat at term 2^53 − 1, sent by a process that dialled a node's peer port and
 * claimed to be n2, used to leave all three nodes at a term no election could follow. With
 * security off only the term guard stands in its way.
 */
describe('a forged heartbeat at term 2^53 - 1 on the peer port of a running 3-node cluster', () => {
  // A stall threshold far above any pause on a busy test machine keeps the leader from committing
  // a grace entry of its own while the test watches the commit index.
  const cluster = useLocalCluster('forged-term', {
    size: 3,
    extraArgs: ['--election-timeout-ms', '1000', '--heartbeat-ms', '100', '--stall-threshold-ms', '10000'],
  });

  it('leaves the leader, the term and the commit index unchanged, and a write succeeds afterwards', async () => {
    const leader = await cluster().waitForLeader(30_000);
    const first = await cluster().post(leader, '/leadership/acquire', {
      scope: 'forged/before',
      candidateId: 'a',
      leaseTtlMs: 120_000,
    });
    expect(first.status).toBe(200);
    const ids = ['n1', 'n2', 'n3'];
    const before = await steadyViews(cluster(), ids);

    const summary = await sendForged(cluster().node('n1').peerAddress, 'n2', [
      { type: 'heartbeat', from: 'n2', to: 'n1', term: LARGEST_EXACT_TERM, commit: '0' },
    ]);
    // The transport took it as a well-formed message from n2; Raft refused it.
    expect(summary.messagesReceived).toBe('1');
    // Three election timeouts: long enough for a node that took the term to lose its leader.
    await new Promise((r) => setTimeout(r, 3000));
    const after = (await Promise.all(ids.map((id) => cluster().status(id)))).map(view);
    expect(after).toEqual(before);

    const write = await cluster().post(leader, '/leadership/acquire', {
      scope: 'forged/after',
      candidateId: 'b',
      leaseTtlMs: 120_000,
    });
    expect({ status: write.status, granted: (write.body as { granted?: boolean }).granted }).toEqual({
      status: 200,
      granted: true,
    });
    const term = Number(/term (\d+)/.exec(before[0]!)![1]);
    expect((write.body as { raftTerm: string }).raftTerm).toBe(String(term));
    await waitUntil('n1 to count the refusal', async () => {
      const refused = await metricSample(
        cluster().node('n1').clientAddress,
        'omnirelay_raft_messages_refused_total',
        'reason="termUnusable"',
      );
      return refused === 1;
    });
  });

  it('counts every refused message but warns once per peer', async () => {
    const n1 = cluster().node('n1');
    const status = await cluster().status('n1');
    const jump = String(status!.term + 2 ** 32 + 1);
    await sendForged(n1.peerAddress, 'n2', [
      { type: 'heartbeat', from: 'n2', to: 'n1', term: jump, commit: '0' },
      { type: 'timeoutNow', from: 'n2', to: 'n1', term: LARGEST_EXACT_TERM },
    ]);
    await waitUntil('n1 to count both refusals', async () => {
      const [unusable, jumped] = await Promise.all([
        metricSample(n1.clientAddress, 'omnirelay_raft_messages_refused_total', 'reason="termUnusable"'),
        metricSample(n1.clientAddress, 'omnirelay_raft_messages_refused_total', 'reason="termJump"'),
      ]);
      return unusable === 2 && jumped === 1;
    });
    const warnings = readFileSync(n1.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('refused a message from a peer on sight'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, peer: 'n2', reason: 'termUnusable' });
    expect(await cluster().leader()).toBeDefined();
  });
});

/** FORGED is the issue's heartbeat: from "n2" to n1, at term 2^53 − 1. */
const FORGED: readonly ForgedMessage[] = [
  { type: 'heartbeat', from: 'n2', to: 'n1', term: LARGEST_EXACT_TERM, commit: '0' },
];

/** pkiDir holds a CA, the members' certificates, a client's, and a foreign CA's node certificate. */
const pkiDir = mkdtempSync(join(tmpdir(), 'omnirelay-forged-pki-'));
afterAll(() => rmSync(pkiDir, { recursive: true, force: true }));

async function issuePki(): Promise<void> {
  const ca = join(pkiDir, 'ca');
  const foreign = join(pkiDir, 'foreign');
  await issueCa({ outDir: ca, clusterId: 'omnirelay' });
  await issueCa({ outDir: foreign, clusterId: 'omnirelay' });
  for (const id of ['n1', 'n2', 'n3']) {
    await issueNode({ caDir: ca, outDir: ca, id, clusterId: 'omnirelay' });
  }
  await issueNode({ caDir: foreign, outDir: foreign, id: 'n2', clusterId: 'omnirelay' });
  await issueClient({ caDir: ca, outDir: ca, name: 'ops', clusterId: 'omnirelay', roles: ['mesh.admin'] });
}

/** tlsAs dials a peer port presenting `identity` (files in `dir`), trusting the cluster's CA only. */
function tlsAs(dir: string | undefined, identity: string | undefined): grpc.ChannelCredentials {
  const ca = readFileSync(join(pkiDir, 'ca', 'ca.crt'));
  const key = dir === undefined || identity === undefined ? null : readFileSync(join(dir, `${identity}.key`));
  const cert =
    dir === undefined || identity === undefined ? null : readFileSync(join(dir, `${identity}.crt`));
  return grpc.credentials.createSsl(ca, key, cert, { checkServerIdentity: () => undefined });
}

/**
 * Issue 22 part 1 and issue 16: with mutual TLS on the peer port, nobody without a member's
 * certificate naming n2 can even deliver the heartbeat, let alone move the term.
 */
describe('the same forged heartbeat with mutual TLS on the peer port', () => {
  const cluster = useLocalCluster('forged-term-tls', {
    size: 3,
    extraArgs: ['--election-timeout-ms', '1000', '--heartbeat-ms', '100', '--stall-threshold-ms', '10000'],
    nodeEnv: (id) => ({
      OMNIRELAY_PEER_TLS_CA: join(pkiDir, 'ca', 'ca.crt'),
      OMNIRELAY_PEER_TLS_CERT: join(pkiDir, 'ca', `${id}.crt`),
      OMNIRELAY_PEER_TLS_KEY: join(pkiDir, 'ca', `${id}.key`),
    }),
    beforeStart: issuePki,
  });

  it('is refused from a process without a certificate, with a foreign CA, a client certificate or another member’s, and nothing moves', async () => {
    const leader = await cluster().waitForLeader(30_000);
    const ids = ['n1', 'n2', 'n3'];
    const before = await steadyViews(cluster(), ids);
    const n1 = cluster().node('n1');
    const attempts: Array<[string, grpc.ChannelCredentials, grpc.status]> = [
      ['plaintext', grpc.credentials.createInsecure(), grpc.status.UNAVAILABLE],
      ['TLS without a client certificate', tlsAs(undefined, undefined), grpc.status.UNAVAILABLE],
      ['a node certificate from a foreign CA', tlsAs(join(pkiDir, 'foreign'), 'n2'), grpc.status.UNAVAILABLE],
      ['a client (non-node) certificate', tlsAs(join(pkiDir, 'ca'), 'ops'), grpc.status.UNAUTHENTICATED],
      ["n3's certificate claiming to be n2", tlsAs(join(pkiDir, 'ca'), 'n3'), grpc.status.UNAUTHENTICATED],
    ];
    const outcomes: string[] = [];
    for (const [what, credentials] of attempts) {
      const outcome = await sendForged(n1.peerAddress, 'n2', FORGED, credentials).then(
        () => 'delivered',
        (e: grpc.ServiceError) => grpc.status[e.code],
      );
      outcomes.push(`${what}: ${outcome}`);
    }
    expect(outcomes).toEqual(attempts.map(([what, , code]) => `${what}: ${grpc.status[code]}`));
    // A process without a certificate asking to be voted for at a higher term, as a new member
    // n4 would, and asking whether it may bootstrap (the join probe): neither gets past the handshake.
    const vote: ForgedMessage[] = [{ type: 'vote', from: 'n4', to: 'n1', term: '1000', lastLogIndex: '0' }];
    await expect(
      sendForged(n1.peerAddress, 'n4', vote, grpc.credentials.createInsecure()),
    ).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    await expect(sendForged(n1.peerAddress, 'n4', vote, tlsAs(undefined, undefined))).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    await expect(probe(n1.peerAddress, 'n4', tlsAs(undefined, undefined))).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    await new Promise((r) => setTimeout(r, 3000));
    const after = (await Promise.all(ids.map((id) => cluster().status(id)))).map(view);
    expect(after).toEqual(before);
    const write = await cluster().post(leader, '/leadership/acquire', {
      scope: 'forged/tls',
      candidateId: 'c',
      leaseTtlMs: 120_000,
    });
    expect(write.status).toBe(200);
    expect(
      await metricSample(n1.clientAddress, 'omnirelay_raft_peer_calls_refused_unauthenticated_total', ''),
    ).toBe(2);
    const warnings = readFileSync(n1.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('refused a peer call claiming to come from n2'));
    expect(warnings).toHaveLength(2);
  });
});
