import * as grpc from '@grpc/grpc-js';
import type { MirrorCommand } from '@omnirelay/leadership-fsm';
import type { Logger } from 'pino';
import { loadPublicApi } from '../../src/grpc/proto';
import type { LeadershipService } from '../../src/leadership/leadership-service';
import type { LeadershipStateMachine } from '../../src/leadership/leadership-state-machine';
import { HEAD_CHECK_MS_MIN, REPLICATOR_DEFAULTS, Replicator } from '../../src/cross-cluster/replicator';

/** WRITE_MS is the fake active cluster's pause between two commits (50 writes a second). */
const WRITE_MS = 20;
/** HEAD_CHECK_MS is the replicator's head check period in this test. */
const HEAD_CHECK_MS = 100;
/** STALL_SAMPLES_MS are the points, after replication stops, at which the lag is compared with the truth. */
const STALL_SAMPLES_MS = [500, 1_000, 1_500];
/** RELATIVE_ERROR_MAX and ABSOLUTE_ERROR_SECONDS_MAX are the accepted error: ±5% and 50 ms for scheduling. */
const RELATIVE_ERROR_MAX = 0.05;
const ABSOLUTE_ERROR_SECONDS_MAX = 0.05;
/** WAIT_MS bounds every wait of the test. */
const WAIT_MS = 10_000;

const silent = { info: () => undefined, warn: () => undefined, debug: () => undefined } as unknown as Logger;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * FakeActive is an active cluster reduced to what replication sees: it commits one event every
 * WRITE_MS with its commit stamp, serves them on Watch (unless blocked: then they wait, in
 * transit) and its last revision on Clusters. Its stamps are the ground truth.
 */
class FakeActive {
  readonly stamps: number[] = [0];
  blocked = false;
  private readonly server = new grpc.Server();
  private readonly watchers: { from: number; call: grpc.ServerWritableStream<unknown, object> }[] = [];
  private writer: NodeJS.Timeout | undefined;
  endpoint = '';

  async start(): Promise<void> {
    const api = loadPublicApi();
    this.server.addService(api.leadership.definition, {
      Watch: (call: grpc.ServerWritableStream<{ fromRevision: string }, object>) => {
        const watcher = { from: Number(call.request.fromRevision), call };
        this.watchers.push(watcher);
        call.sendMetadata(new grpc.Metadata());
        call.on('cancelled', () => this.watchers.splice(this.watchers.indexOf(watcher), 1));
        this.send();
      },
    });
    this.server.addService(api.cluster.definition, {
      Clusters: (_call: unknown, callback: grpc.sendUnaryData<object>) =>
        callback(null, { clusterId: 'a', state: 'active', lastEventRevision: String(this.head) }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e === null ? resolve(p) : reject(e),
      ),
    );
    this.endpoint = `127.0.0.1:${port}`;
  }

  get head(): number {
    return this.stamps.length - 1;
  }

  writing(on: boolean): void {
    if (this.writer !== undefined) clearInterval(this.writer);
    this.writer = undefined;
    if (!on) return;
    this.writer = setInterval(() => {
      this.stamps.push(Date.now());
      this.send();
    }, WRITE_MS);
  }

  /** send sends every watcher what it has not had yet, unless blocked (held back: in transit). */
  send(): void {
    if (this.blocked) return;
    for (const w of this.watchers) {
      for (; w.from <= this.head; w.from++) {
        const revision = String(w.from);
        w.call.write({
          revision,
          events: [{ revision, scope: `s/${w.from % 10}`, stampMs: String(this.stamps[w.from]) }],
        });
      }
    }
  }

  /** cut drops every connection and answers nothing more; commits go on (the truth keeps moving). */
  cut(): void {
    this.server.forceShutdown();
    this.watchers.length = 0;
  }

  stop(): void {
    this.writing(false);
    this.server.forceShutdown();
  }
}

/** FakePassive is the passive cluster's state: the mirror the replicator's proposals advance. */
function fakePassive(endpoint: string): {
  readonly stateMachine: LeadershipStateMachine;
  readonly service: LeadershipService;
  readonly mirror: { versionVector: Record<string, number>; sourceStampMs: number };
} {
  const peer = { clusterId: 'a', state: 'active', failoverEpoch: 0, endpoints: [endpoint] };
  const mirror = { versionVector: {} as Record<string, number>, sourceStampMs: 0 };
  const view = { state: 'passive', following: 'a', peers: [peer], mirror };
  const service = {
    propose: async (command: MirrorCommand) => {
      await sleep(1);
      mirror.versionVector['a'] = command.toRevision;
      mirror.sourceStampMs = Math.max(mirror.sourceStampMs, command.sourceStampMs);
      return { ok: true };
    },
  };
  return {
    stateMachine: { fsm: { cluster: () => view } } as unknown as LeadershipStateMachine,
    service: service as unknown as LeadershipService,
    mirror,
  };
}

/** truthSeconds is the definition: now − the commit stamp of the oldest revision the mirror lacks, 0 when none. */
function truthSeconds(active: FakeActive, applied: number, nowMs: number): number {
  return applied >= active.head ? 0 : (nowMs - active.stamps[applied + 1]!) / 1000;
}

/**
 * expectBounded compares the lag with the truth at now: a replicator that received nothing it
 * lacks (a stalled stream, a cut connection, a new leader) cannot know when the first revision it
 * lacks was committed, only that it was after the last one it has (`applied`), so the lag lies
 * between the truth and now − that revision's stamp (within ±5% and 50 ms each way). The
 * two are WRITE_MS apart when the active's writer runs on time; on a busy machine its timer fired
 * 166 ms late once (CI), and a fixed tolerance around the truth failed a right answer.
 */
function expectBounded(replicator: Replicator, active: FakeActive, applied: number, where: string): void {
  const nowMs = Date.now();
  const truth = truthSeconds(active, applied, nowMs);
  const upper = (nowMs - active.stamps[applied]!) / 1000;
  const lag = replicator.lagSeconds(nowMs);
  const slack = (bound: number): number => RELATIVE_ERROR_MAX * bound + ABSOLUTE_ERROR_SECONDS_MAX;
  expect({
    where,
    truth,
    upper,
    lag,
    within: lag >= truth - slack(truth) && lag <= upper + slack(upper),
  }).toEqual({
    where,
    truth,
    upper,
    lag,
    within: true,
  });
}

async function waitFor(what: string, done: () => boolean): Promise<void> {
  const from = Date.now();
  while (!done()) {
    if (Date.now() - from > WAIT_MS) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('mesh_replication_lag_seconds against a measured ground truth', () => {
  let active: FakeActive;
  const replicators: Replicator[] = [];

  beforeEach(async () => {
    active = new FakeActive();
    await active.start();
  });

  afterEach(() => {
    for (const r of replicators) r.stop();
    active.stop();
  });

  it('counts the events in transit while the stream stalls, reads 0 once caught up and idle, and grows while disconnected', async () => {
    const passive = fakePassive(active.endpoint);
    const replicator = new Replicator(passive.service, passive.stateMachine, () => true, silent, {
      ...REPLICATOR_DEFAULTS,
      retryMs: 50,
      headCheckMs: HEAD_CHECK_MS,
    });
    replicators.push(replicator);
    active.writing(true);
    replicator.reconsider();
    await waitFor('streaming and caught up', () => (passive.mirror.versionVector['a'] ?? 0) >= 10);

    // The active keeps committing; what it commits stays in transit for a known time.
    active.blocked = true;
    const stalledAt = Date.now();
    for (const at of STALL_SAMPLES_MS) {
      await sleep(stalledAt + at - Date.now());
      expectBounded(replicator, active, passive.mirror.versionVector['a'] ?? 0, `stalled ${at} ms`);
    }

    // Writes stop; the stream delivers everything: caught up and idle is 0, and stays 0.
    active.writing(false);
    active.blocked = false;
    active.send();
    await waitFor('caught up', () => passive.mirror.versionVector['a'] === active.head);
    await sleep(3 * HEAD_CHECK_MS);
    expect(replicator.status).toBe('streaming');
    expectBounded(replicator, active, active.head, 'idle and caught up');
    expect(replicator.lagSeconds()).toBe(0);

    // The active writes again and becomes unreachable (its connections drop): the lag grows.
    active.writing(true);
    await sleep(5 * WRITE_MS);
    active.cut();
    const cutAt = Date.now();
    for (const at of STALL_SAMPLES_MS) {
      await sleep(cutAt + at - Date.now());
      expectBounded(replicator, active, passive.mirror.versionVector['a'] ?? 0, `unreachable ${at} ms`);
    }
    expect(replicator.status).not.toBe('streaming');
  }, 30_000);

  it('starts a new leader from the mirror it inherited, not from 0, while the active does not answer', async () => {
    const passive = fakePassive(active.endpoint);
    active.writing(true);
    await sleep(10 * WRITE_MS);
    // The mirror a previous leader replicated: up to revision 5.
    passive.mirror.versionVector['a'] = 5;
    passive.mirror.sourceStampMs = active.stamps[5]!;
    active.blocked = true;
    const replicator = new Replicator(passive.service, passive.stateMachine, () => true, silent, {
      ...REPLICATOR_DEFAULTS,
      retryMs: 50,
      headCheckMs: HEAD_CHECK_MS,
    });
    replicators.push(replicator);
    replicator.reconsider();
    await sleep(3 * HEAD_CHECK_MS);
    expectBounded(replicator, active, 5, 'new leader, stream stalled');
  }, 30_000);

  it('refuses a head check period out of its bounds, naming the setting', () => {
    const passive = fakePassive('127.0.0.1:1');
    expect(
      () =>
        new Replicator(passive.service, passive.stateMachine, () => true, silent, {
          ...REPLICATOR_DEFAULTS,
          headCheckMs: HEAD_CHECK_MS_MIN - 1,
        }),
    ).toThrow(/headCheckMs must be an integer/);
  });
});
