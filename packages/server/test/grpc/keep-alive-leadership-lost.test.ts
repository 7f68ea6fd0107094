import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import { pino } from 'pino';
import { ServerError } from '../../src/index';
import type { AccessControl } from '../../src/auth/access-control';
import type { GrpcForwarder } from '../../src/grpc/forwarder';
import { keepAliveHandler } from '../../src/grpc/keep-alive';
import { GRPC_LIMITS_DEFAULT } from '../../src/grpc/limits';
import { LeadershipService, SUCCESSOR_WAIT_MS } from '../../src/leadership/leadership-service';
import { LeadershipStateMachine } from '../../src/leadership/leadership-state-machine';
import { WatchHub } from '../../src/leadership/watch-hub';

const silent = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** FakeNode is the little of a RaftNode the service's leadership watch reads: its id, whether it leads, `leader` events. */
class FakeNode extends EventEmitter {
  readonly id = 'n1';
  isLeader = true;
  leaderId = 'n1';

  /** lead makes `leader` the known leader, as RaftNode's `leader` event does. */
  lead(leader: string, term: number): void {
    this.isLeader = leader === this.id;
    this.leaderId = leader;
    this.emit('leader', leader, term);
  }
}

/** watched is a leader's service with one onLeadershipLost listener that counts its calls. */
function watched(): {
  node: FakeNode;
  service: LeadershipService;
  told: () => number;
  unsubscribe: () => void;
} {
  const node = new FakeNode();
  const service = serviceOn(node);
  let told = 0;
  const unsubscribe = service.onLeadershipLost(() => told++);
  return { node, service, told: () => told, unsubscribe };
}

function serviceOn(node: FakeNode): LeadershipService {
  return new LeadershipService(
    node as unknown as RaftNode<ApplyResult>,
    new LeadershipStateMachine(),
    new WatchHub(10),
    () => undefined,
    () => undefined,
    undefined,
    silent,
  );
}

describe('LeadershipService.onLeadershipLost', () => {
  it('tells its listeners once, as soon as the successor is known', () => {
    const { node, told } = watched();
    node.lead('n2', 2);
    expect(told()).toBe(1);
    node.lead('n3', 3);
    expect(told()).toBe(1);
  });

  it(`waits up to ${SUCCESSOR_WAIT_MS} ms for a successor's name, and tells nobody when this node leads again meanwhile`, async () => {
    const lost = watched();
    lost.node.lead('', 2);
    expect(lost.told()).toBe(0);
    await sleep(SUCCESSOR_WAIT_MS + 100);
    expect(lost.told()).toBe(1);

    const kept = watched();
    kept.node.lead('', 2);
    kept.node.lead('n1', 3);
    await sleep(SUCCESSOR_WAIT_MS + 100);
    expect(kept.told()).toBe(0);
  });

  it('forgets a listener that unsubscribed', () => {
    const { node, told, unsubscribe } = watched();
    unsubscribe();
    node.lead('n2', 2);
    expect(told()).toBe(0);
  });
});

/** FakeCall is the server side of one KeepAlive call, as the handler uses it. */
class FakeCall extends EventEmitter {
  readonly metadata = new grpc.Metadata();
  cancelled = false;
  readonly written: unknown[] = [];
  write(message: unknown): boolean {
    this.written.push(message);
    return true;
  }
  pause(): void {}
  resume(): void {}
  end(): void {}
  sendMetadata(): void {}
}

describe('a KeepAlive stream on a leader that stops leading', () => {
  it('ends at once with NOT_LEADER naming the successor, without waiting for the renewals in flight', async () => {
    let lost: (() => void) | undefined;
    const service = {
      // The renewal is in flight on the old leader: its entry's fate is not known yet.
      renewMany: () => new Promise(() => undefined),
      currentLeaseTtlMs: () => undefined,
      resetReleaser: { arm: () => undefined, claim: () => undefined, disown: () => undefined },
      notLeader: () =>
        new ServerError('NOT_LEADER', 'node n1 is not the leader; send it to n2', { leaderHint: 'n2' }),
      onLeadershipLost: (listener: () => void) => {
        lost = listener;
        return () => (lost = undefined);
      },
    } as unknown as LeadershipService;
    const forwarder = { route: () => ({ kind: 'local' }) } as unknown as GrpcForwarder;
    const access = { check: () => undefined, authorize: () => undefined } as unknown as AccessControl;
    const call = new FakeCall();
    const errors: grpc.ServiceError[] = [];
    call.on('error', (e: grpc.ServiceError) => errors.push(e));
    keepAliveHandler(
      service,
      silent,
      GRPC_LIMITS_DEFAULT,
      forwarder,
      access,
    )(call as unknown as grpc.ServerDuplexStream<unknown, object>);
    call.emit('data', { leases: [{ scope: 'ka/lost', fenceToken: '7' }] });
    await sleep(20);
    expect(errors).toEqual([]);
    expect(lost).toBeDefined();

    lost!();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(errors[0]!.metadata.get('omnirelay-error-code')).toEqual(['NOT_LEADER']);
    expect(errors[0]!.metadata.get('omnirelay-leader-hint')).toEqual(['n2']);
    expect(lost).toBeUndefined(); // the stream stopped listening
    expect(call.written).toEqual([]);
  });
});
