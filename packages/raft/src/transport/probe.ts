import * as grpc from '@grpc/grpc-js';
import type { NodeId } from '../core/index';
import { loadRaftPeerService } from './proto';
import type { ProbeAnswer } from './transport-types';

/** ProbeResult is one peer's answer to a Probe, or why none came. */
export type ProbeResult =
  | { readonly peer: NodeId; readonly ok: true; readonly answer: ProbeAnswer }
  | { readonly peer: NodeId; readonly ok: false; readonly reason: string };

interface WireProbeReply {
  id: string;
  term: number;
  lastIndex: number;
  boundIncarnation: string;
}

/**
 * probePeers asks every peer, in parallel and within `timeoutMs`, how far its log goes and how it
 * binds `self`. A peer that is down or refuses (another cluster id) gives a reason instead; the
 * caller decides what an unanswered probe means (a cluster whose members all start fresh at once
 * answers nothing useful, and that is fine).
 */
export async function probePeers(
  peers: ReadonlyMap<NodeId, string>,
  self: NodeId,
  clusterId: string,
  timeoutMs: number,
  /** credentials to dial each peer (the peer port's mutual TLS, see PeerTls.channel); plaintext by default. */
  credentials: (peer: NodeId) => grpc.ChannelCredentials = () => grpc.credentials.createInsecure(),
): Promise<ProbeResult[]> {
  const { Client } = loadRaftPeerService();
  return Promise.all(
    [...peers].map(
      ([peer, address]) =>
        new Promise<ProbeResult>((resolve) => {
          const client = new Client(address, credentials(peer));
          const probe = client['Probe'] as (
            request: object,
            options: grpc.CallOptions,
            callback: (error: grpc.ServiceError | null, reply?: WireProbeReply) => void,
          ) => void;
          probe.call(
            client,
            { from: self, clusterId },
            { deadline: Date.now() + timeoutMs },
            (error, reply) => {
              client.close();
              if (error !== null || reply === undefined) {
                resolve({ peer, ok: false, reason: error?.details ?? 'no answer' });
                return;
              }
              resolve({
                peer,
                ok: true,
                answer: {
                  term: reply.term,
                  lastIndex: reply.lastIndex,
                  boundIncarnation: reply.boundIncarnation,
                },
              });
            },
          );
        }),
    ),
  );
}
