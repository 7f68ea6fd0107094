import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { warmCodecs } from './warm-codecs';

/**
 * RAFT_PROTO_PATH is proto/raft.proto at the repository root; this file sits at the same depth
 * in src/transport and dist/transport, so the relative path holds for both.
 */
export const RAFT_PROTO_PATH = join(__dirname, '../../../../proto/raft.proto');

/** PROTO_LOADER_OPTIONS: longs as numbers (indexes stay below 2^53), enums as names, defaults filled in. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** RaftPeerService is the loaded RaftPeer service: its definition for servers and its client constructor. */
export interface RaftPeerService {
  readonly definition: grpc.ServiceDefinition;
  readonly Client: grpc.ServiceClientConstructor;
}

let loaded: RaftPeerService | undefined;

/** loadRaftPeerService loads proto/raft.proto once, its codecs generated at once (warmCodecs). */
export function loadRaftPeerService(): RaftPeerService {
  if (loaded === undefined) {
    const definition = protoLoader.loadSync(RAFT_PROTO_PATH, PROTO_LOADER_OPTIONS);
    warmCodecs(definition);
    const root = grpc.loadPackageDefinition(definition) as unknown as {
      omnirelay: { raft: { v1: { RaftPeer: grpc.ServiceClientConstructor } } };
    };
    const Client = root.omnirelay.raft.v1.RaftPeer;
    loaded = { definition: Client.service, Client };
  }
  return loaded;
}
