import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';

/**
 * PROTO_PATH is proto/leadership.proto at the repository root; this file sits at the same depth
 * in src/ and dist/, so the relative path holds for both. The SDK loads the server's own proto at
 * run time: the wire format has one source of truth and nothing is generated.
 */
const PROTO_PATH = join(__dirname, '../../../proto/leadership.proto');

/**
 * LOADER_OPTIONS match the server's: 64-bit integers as decimal strings (fence tokens are uint64
 * and must keep every bit; the SDK turns them into bigint), enums as names, defaults filled in.
 */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** ServiceClients are the constructors of the two public services. */
export interface ServiceClients {
  readonly Leadership: grpc.ServiceClientConstructor;
  readonly Cluster: grpc.ServiceClientConstructor;
}

let loaded: ServiceClients | undefined;

/** loadServiceClients loads proto/leadership.proto once per process. */
export function loadServiceClients(): ServiceClients {
  if (loaded === undefined) {
    const definition = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
    const root = grpc.loadPackageDefinition(definition) as unknown as {
      omnirelay: { leadership: { v1: ServiceClients } };
    };
    loaded = root.omnirelay.leadership.v1;
  }
  return loaded;
}
