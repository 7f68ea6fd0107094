import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { warmCodecs } from '@omnirelay/raft';
import { join } from 'node:path';

/**
 * LEADERSHIP_PROTO_PATH is proto/leadership.proto at the repository root; this file sits at the
 * same depth in src/grpc and dist/grpc, so the relative path holds for both.
 */
export const LEADERSHIP_PROTO_PATH = join(__dirname, '../../../../proto/leadership.proto');

/**
 * PUBLIC_PROTO_LOADER_OPTIONS: 64-bit integers as decimal strings (fence tokens are uint64 and
 * must survive; the edge converts them with BigInt), enums as names, defaults filled in, field
 * names in camelCase. Clients of the public API load the proto with the same options.
 */
export const PUBLIC_PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** PublicService is one loaded service: its definition for servers and its client constructor. */
export interface PublicService {
  readonly definition: grpc.ServiceDefinition;
  readonly Client: grpc.ServiceClientConstructor;
}

/** PublicApi is the services of omnirelay.leadership.v1. */
export interface PublicApi {
  readonly leadership: PublicService;
  readonly cluster: PublicService;
}

let loaded: PublicApi | undefined;

/** loadPublicApi loads proto/leadership.proto once, its codecs generated at once (warmCodecs). */
export function loadPublicApi(): PublicApi {
  if (loaded === undefined) {
    const definition = protoLoader.loadSync(LEADERSHIP_PROTO_PATH, PUBLIC_PROTO_LOADER_OPTIONS);
    warmCodecs(definition);
    const root = grpc.loadPackageDefinition(definition) as unknown as {
      omnirelay: {
        leadership: {
          v1: { Leadership: grpc.ServiceClientConstructor; Cluster: grpc.ServiceClientConstructor };
        };
      };
    };
    const { Leadership, Cluster } = root.omnirelay.leadership.v1;
    loaded = {
      leadership: { definition: Leadership.service, Client: Leadership },
      cluster: { definition: Cluster.service, Client: Cluster },
    };
  }
  return loaded;
}
