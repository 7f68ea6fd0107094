import * as grpc from '@grpc/grpc-js';

/**
 * bindLoopback binds a fake node's gRPC server (services already added) to a free port on
 * 127.0.0.1 and returns its address; the caller stops it with forceShutdown().
 */
export async function bindLoopback(server: grpc.Server): Promise<string> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e === null ? resolve(p) : reject(e),
    ),
  );
  return `127.0.0.1:${port}`;
}

/**
 * statusOf is a fake node's Cluster.Status handler: it answers as node `nodeId` in Raft term
 * `term`, naming `leader` ('' for none; the node itself makes it the leader).
 */
export function statusOf(
  nodeId: string,
  leader: string,
  term = 1,
): (call: unknown, callback: grpc.sendUnaryData<object>) => void {
  const role = leader === nodeId ? 'leader' : 'follower';
  return (_call, callback) =>
    callback(null, { nodeId, role, term, leader, commit: 7, applied: 7, members: [] });
}

/**
 * fakeWireLease is a Lease message of a fake node: `scope` held by `candidateId` with fence (and
 * revision) `fence`, for `ttlMs` (60 s by default) from now.
 */
export function fakeWireLease(scope: string, fence: number, candidateId = 'c', ttlMs = 60_000): object {
  const now = Date.now();
  return {
    scope,
    candidateId,
    metadata: '',
    scopeTerm: 1,
    fenceToken: String(fence),
    leaseTtlMs: ttlMs,
    deadlineMs: now + ttlMs,
    lastRenewalStampMs: now,
    grantedStampMs: now,
    revision: fence,
  };
}

/** grantedAnswer is a fake node's Acquire answer in Raft term `raftTerm` granting `scope` to candidate `c` for `ttlMs` (fakeWireLease). */
export function grantedAnswer(scope: string, fence: number, raftTerm = 1, ttlMs = 60_000): object {
  return { granted: true, alreadyHolder: false, raftTerm, lease: fakeWireLease(scope, fence, 'c', ttlMs) };
}

/** notLeaderStatus is the status a fake follower answers NOT_LEADER with, naming `leader` (and its `address`, if given). */
export function notLeaderStatus(leader: string, address?: string): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set('omnirelay-error-code', 'NOT_LEADER');
  metadata.set('omnirelay-leader-hint', leader);
  if (address !== undefined) metadata.set('omnirelay-leader-address', address);
  return {
    code: grpc.status.FAILED_PRECONDITION,
    details: `this node is not the leader; send it to ${leader}`,
    metadata,
  };
}

/** KeepAliveRequest is a KeepAlive request as a fake node's handler reads it. */
export interface KeepAliveRequest {
  readonly leases: readonly { scope: string; fenceToken: string }[];
}

/**
 * renewingKeepAlive is a fake node's KeepAlive handler that answers every request, in order, with
 * each lease renewed, `delayMs()` after it came (asked per request); `onStream` hears each stream opened.
 */
export function renewingKeepAlive(
  delayMs: () => number,
  onStream: () => void = () => undefined,
): (call: grpc.ServerDuplexStream<KeepAliveRequest, object>) => void {
  return (call) => {
    onStream();
    call.on('data', (request: KeepAliveRequest) => {
      const results = request.leases.map((l) => ({
        scope: l.scope,
        fenceToken: l.fenceToken,
        renewed: true,
        deadlineMs: 0,
        errorCode: '',
      }));
      setTimeout(() => call.write({ results }), delayMs());
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  };
}
