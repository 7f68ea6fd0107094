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
 * statusOf is a fake node's Cluster.Status handler: it answers as node `nodeId`, naming `leader`
 * ('' for none; the node itself makes it the leader).
 */
export function statusOf(
  nodeId: string,
  leader: string,
): (call: unknown, callback: grpc.sendUnaryData<object>) => void {
  const role = leader === nodeId ? 'leader' : 'follower';
  return (_call, callback) =>
    callback(null, { nodeId, role, term: 1, leader, commit: 7, applied: 7, members: [] });
}
