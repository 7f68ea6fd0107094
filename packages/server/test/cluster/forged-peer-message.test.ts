import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { NodeStatus } from '../../src/index';
import { useLocalCluster, waitUntil } from './cluster-helpers';

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
): Promise<{ messagesReceived: string }> {
  const definition = protoLoader.loadSync(RAFT_PROTO, { longs: String, enums: String, defaults: true });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    omnirelay: { raft: { v1: { RaftPeer: grpc.ServiceClientConstructor } } };
  };
  const client = new root.omnirelay.raft.v1.RaftPeer(peerAddress, grpc.credentials.createInsecure());
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

/** metricSample reads one sample of `name` with `labels` from a node's GET /metrics (0 when absent). */
async function metricSample(clientAddress: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://${clientAddress}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

/** view is what must not move: who leads, at which term, and the commit index, as each node sees it. */
function view(s: NodeStatus | undefined): string {
  return s === undefined ? 'down' : `${s.role} term ${s.term} leader ${s.leader} commit ${s.commit}`;
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
    let before: string[] = [];
    const ids = ['n1', 'n2', 'n3'];
    await waitUntil('every node to agree on the leader, the term and the commit index', async () => {
      before = (await Promise.all(ids.map((id) => cluster().status(id)))).map(view);
      const followers = before.filter((v) => v.startsWith('follower'));
      return followers.length === 2 && new Set(before.map((v) => v.replace(/^\w+ /, ''))).size === 1;
    });

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

  it.todo(
    'security on (issue 22 part 1, once peers use mTLS): the same heartbeat from an unauthenticated ' +
      'process and from a process with a client (non-node) certificate changes neither term, leader nor commit index',
  );
});
