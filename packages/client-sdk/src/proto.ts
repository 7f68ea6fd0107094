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

/** LEADERSHIP_SERVICE is the Leadership service's full name in the package definition. */
const LEADERSHIP_SERVICE = 'omnirelay.leadership.v1.Leadership';

/**
 * decodeRepeatsOnce wraps a response decoder so that bytes equal to the last ones it decoded
 * return the same decoded object. A server encodes each watch revision once and writes those
 * bytes to every watch stream of the prefix, so a process with many watchers on one node
 * receives the same bytes many times in a row: it then decodes once and compares bytes for the
 * rest. Callers only read decoded responses (the SDK converts them), so sharing one is safe.
 */
export function decodeRepeatsOnce<T>(decode: (bytes: Buffer) => T): (bytes: Buffer) => T {
  let lastBytes: Buffer | undefined;
  let last: T | undefined;
  return (bytes: Buffer): T => {
    if (lastBytes !== undefined && lastBytes.equals(bytes)) return last as T;
    const decoded = decode(bytes);
    // A copy: grpc-js may reuse the memory the message was read into.
    lastBytes = Buffer.from(bytes);
    last = decoded;
    return decoded;
  };
}

/** loadServiceClients loads proto/leadership.proto once per process. */
export function loadServiceClients(): ServiceClients {
  if (loaded === undefined) {
    const definition = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
    const watch = (
      definition[LEADERSHIP_SERVICE] as Record<string, protoLoader.MethodDefinition<object, object>>
    ).Watch!;
    watch.responseDeserialize = decodeRepeatsOnce(watch.responseDeserialize);
    const root = grpc.loadPackageDefinition(definition) as unknown as {
      omnirelay: { leadership: { v1: ServiceClients } };
    };
    loaded = root.omnirelay.leadership.v1;
  }
  return loaded;
}
