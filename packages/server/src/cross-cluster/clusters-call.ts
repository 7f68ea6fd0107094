import type * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '../grpc/proto';
import type { ReplicationCredentialFiles } from './replication-credentials';
import { replicationChannel } from './replication-credentials';

/**
 * callClusters calls gRPC Cluster.Clusters at one endpoint of another cluster with the
 * replication channel's credentials, bounded by `timeoutMs`, and answers its response in
 * proto-loader's object form (64-bit numbers as decimal strings); it rejects with the call's error.
 * `serializable` asks that node's own replica (any member answers) instead of a linearizable
 * read (which only the other cluster's Raft leader answers).
 */
export async function callClusters<T>(
  endpoint: string,
  credentials: ReplicationCredentialFiles | undefined,
  timeoutMs: number,
  serializable = false,
): Promise<T> {
  const channel = replicationChannel(credentials);
  const client = new (loadPublicApi().cluster.Client)(endpoint, channel.credentials);
  try {
    return await callClustersOn<T>(client, channel.metadata, timeoutMs, serializable);
  } finally {
    client.close();
  }
}

/**
 * callClustersOn is callClusters on a Cluster client the caller keeps (for example one sharing a
 * replication stream's connection, through `channelOverride`), with that stream's metadata.
 */
export function callClustersOn<T>(
  client: grpc.Client,
  metadata: grpc.Metadata,
  timeoutMs: number,
  serializable: boolean,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const call = (client as unknown as Record<string, unknown>)['Clusters'] as (
      request: object,
      metadata: grpc.Metadata,
      options: grpc.CallOptions,
      callback: (error: grpc.ServiceError | null, response?: T) => void,
    ) => void;
    call.call(client, { serializable }, metadata, { deadline: Date.now() + timeoutMs }, (error, response) =>
      error === null ? resolve(response!) : reject(error),
    );
  });
}
