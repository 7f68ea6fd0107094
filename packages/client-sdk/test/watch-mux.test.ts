import * as grpc from '@grpc/grpc-js';
import type { ClientGrpcServer } from '@omnirelay/server';
import { STREAM_LIMITS_DEFAULT, StreamLimiter, loadPublicApi, startGrpcServer } from '@omnirelay/server';
import { pino } from 'pino';
import type { LeadershipEvent, OmniRelayClient } from '../src/index';
import { createClient } from '../src/index';
import { bindLoopback, statusOf } from './support/fake-node';
import type { SoloCluster } from './support/solo';
import { startSolo, waitFor } from './support/solo';

/** Watching is one client.watch loop collecting its events. */
interface Watching {
  readonly events: LeadershipEvent[];
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

function watchInto(client: OmniRelayClient, prefix: string, fromRevision?: bigint): Watching {
  const events: LeadershipEvent[] = [];
  const controller = new AbortController();
  const done = (async () => {
    for await (const e of client.watch(prefix, {
      signal: controller.signal,
      ...(fromRevision === undefined ? {} : { fromRevision }),
    }))
      events.push(e);
  })();
  return { events, controller, done };
}

async function stopAll(watchings: readonly Watching[]): Promise<void> {
  for (const w of watchings) w.controller.abort();
  await Promise.all(watchings.map((w) => w.done));
}

describe('client watches over one shared WatchStream call per node', () => {
  jest.setTimeout(60_000);
  let solo: SoloCluster;

  beforeAll(async () => {
    solo = await startSolo();
  });

  afterAll(async () => {
    await solo.stop();
  });

  /** edge serves the solo node's API on a port of its own, with its own stream limiter and bounds. */
  async function edge(
    limiter: StreamLimiter,
    limits: { watchStreamBufferBytesMax?: number } = {},
  ): Promise<ClientGrpcServer> {
    return startGrpcServer({
      address: '127.0.0.1:0',
      service: solo.server.service,
      node: solo.server.node,
      logger: pino({ level: 'silent' }),
      streamLimiter: limiter,
      limits,
    });
  }

  it('carries many watches of one client on ONE call, each getting exactly its events, and closes it with the last', async () => {
    const limiter = new StreamLimiter(STREAM_LIMITS_DEFAULT);
    const server = await edge(limiter);
    // Its unary calls on their own (no Calls stream): only the watches' streams count here.
    const client = createClient({ endpoints: [server.address], callTimeoutMs: 3000, multiplexCalls: false });
    const writer = solo.client();
    const watchings: Watching[] = [];
    try {
      for (let i = 0; i < 20; i++) watchings.push(watchInto(client, `share/${i % 4}/`));
      await waitFor('20 watchers registered', () => limiter.watcherCount === 20);
      // Twenty watchers, one stream: the calls counted at the server.
      expect(limiter.streamCount).toBe(1);
      const fences: bigint[] = [];
      for (let p = 0; p < 4; p++)
        fences.push((await writer.acquire(`share/${p}/x`, { ttlMs: 60_000 }))!.fence);
      await waitFor('every watcher to see its event', () => watchings.every((w) => w.events.length >= 1));
      await new Promise((r) => setTimeout(r, 100));
      watchings.forEach((w, i) => {
        expect(w.events.map((e) => [e.scope, e.holder?.fence])).toEqual([
          [`share/${i % 4}/x`, fences[i % 4]],
        ]);
      });
      // Watchers of one prefix share the decoded events (converted once).
      expect(watchings[4]!.events[0]).toBe(watchings[0]!.events[0]);
      await stopAll(watchings.splice(0, 19));
      expect(limiter.streamCount).toBe(1);
      await waitFor('19 watchers released', () => limiter.watcherCount === 1);
      await stopAll(watchings.splice(0));
      await waitFor('the shared call closed with its last watch', () => limiter.streamCount === 0);
      expect(limiter.watcherCount).toBe(0);
    } finally {
      await stopAll(watchings);
      client.close();
      await server.close();
    }
  });

  it('resumes each watch cut off for falling behind, with no gap and no duplicate, on the same call', async () => {
    const limiter = new StreamLimiter(STREAM_LIMITS_DEFAULT);
    // One byte: every watch is cut off after each revision it gets, and resumes from the next.
    const server = await edge(limiter, { watchStreamBufferBytesMax: 1 });
    const client = createClient({
      endpoints: [server.address],
      callTimeoutMs: 3000,
      backoffMaxMs: 50,
      multiplexCalls: false,
    });
    const writer = solo.client();
    const first = (await writer.acquire('slow-mux/0', { ttlMs: 60_000 }))!;
    const watchings = [0, 1, 2].map(() => watchInto(client, 'slow-mux/', first.revision));
    try {
      const fences = [first.fence];
      for (let i = 1; i < 15; i++)
        fences.push((await writer.acquire(`slow-mux/${i}`, { ttlMs: 60_000 }))!.fence);
      await waitFor('every watcher to catch up', () => watchings.every((w) => w.events.length >= 15), 20_000);
      await new Promise((r) => setTimeout(r, 100));
      for (const w of watchings) expect(w.events.map((e) => e.holder?.fence)).toEqual(fences);
      expect(limiter.streamCount).toBe(1);
    } finally {
      await stopAll(watchings);
      client.close();
      await server.close();
    }
  });
});

describe('client watches against a node without WatchStream', () => {
  jest.setTimeout(30_000);

  /**
   * startOldNode is a stand-in for a server that predates WatchStream (it answers it
   * UNIMPLEMENTED): its Watch sends revisions 8, 9 and 10 of `old/<revision>` and stays open.
   */
  async function startOldNode(
    status: (call: unknown, callback: grpc.sendUnaryData<object>) => void = statusOf('n1', 'n1'),
  ): Promise<{ server: grpc.Server; address: string; watchCalls: string[] }> {
    const api = loadPublicApi();
    const watchCalls: string[] = [];
    const server = new grpc.Server();
    server.addService(api.leadership.definition, {
      Watch: (call: grpc.ServerWritableStream<{ prefix: string; fromRevision: string }, object>) => {
        watchCalls.push(call.request.fromRevision);
        for (let revision = Number(call.request.fromRevision); revision <= 10; revision++) {
          call.write({
            revision,
            events: [
              {
                revision,
                scope: `old/${revision}`,
                scopeTerm: 1,
                reason: 'HOLDER_CHANGE_REASON_RESIGNED',
                previousHolder: { candidateId: 'a', fenceToken: revision - 1 },
                proposerId: 'n1',
                raftTerm: 1,
                stampMs: 1000,
              },
            ],
          });
        }
      },
    });
    server.addService(api.cluster.definition, { Status: status });
    return { server, address: await bindLoopback(server), watchCalls };
  }

  it('falls back to one Watch call per watch when the node answers WatchStream with UNIMPLEMENTED', async () => {
    const node = await startOldNode();
    const client = createClient({ endpoints: [node.address], callTimeoutMs: 3000 });
    const resumes: string[] = [];
    const events: LeadershipEvent[] = [];
    const controller = new AbortController();
    const done = (async () => {
      for await (const e of client.watch('old/', {
        signal: controller.signal,
        onResume: (r) => resumes.push(r.error.code),
      }))
        events.push(e);
    })();
    const second = watchInto(client, 'old/');
    try {
      // The stand-in's Status says applied 7: the watches start at 8.
      await waitFor(
        'both watches to get revisions 8 to 10',
        () => events.length >= 3 && second.events.length >= 3,
      );
      expect(events.map((e) => e.scope)).toEqual(['old/8', 'old/9', 'old/10']);
      expect(second.events.map((e) => e.scope)).toEqual(['old/8', 'old/9', 'old/10']);
      expect(node.watchCalls).toEqual(['8', '8']);
      // The fallback is not a failure of the watch: it goes on at once, with no resume reported.
      expect(resumes).toEqual([]);
      // The node is remembered: a later watch goes to Watch directly.
      const third = watchInto(client, 'old/');
      await waitFor('a third watch over Watch', () => third.events.length >= 3);
      expect(node.watchCalls).toEqual(['8', '8', '8']);
      await stopAll([third]);
    } finally {
      controller.abort();
      await done;
      await stopAll([second]);
      client.close();
      node.server.forceShutdown();
    }
  });

  it('asks the node its applied revision once for all the watches that begin in one turn, and again for a later one', async () => {
    let statusCalls = 0;
    let applied = 7;
    const node = await startOldNode((_call, callback) => {
      statusCalls++;
      callback(null, {
        nodeId: 'n1',
        role: 'leader',
        term: 1,
        leader: 'n1',
        commit: applied,
        applied,
        members: [],
      });
    });
    const client = createClient({ endpoints: [node.address], callTimeoutMs: 3000 });
    const together = Array.from({ length: 20 }, () => watchInto(client, 'old/'));
    try {
      await waitFor('20 watches to get revisions 8 to 10', () => together.every((w) => w.events.length >= 3));
      expect(together.map((w) => w.events.map((e) => e.scope))).toEqual(
        together.map(() => ['old/8', 'old/9', 'old/10']),
      );
      expect(statusCalls).toBe(1);
      // A watch that begins later gets a Status call of its own, sent after it began.
      applied = 9;
      const later = watchInto(client, 'old/');
      await waitFor('the later watch to get revision 10', () => later.events.length >= 1);
      expect(later.events.map((e) => e.scope)).toEqual(['old/10']);
      expect(statusCalls).toBe(2);
      await stopAll([later]);
    } finally {
      await stopAll(together);
      client.close();
      node.server.forceShutdown();
    }
  });
});
