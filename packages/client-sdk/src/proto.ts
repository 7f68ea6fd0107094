import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import type { WireKeepAliveResult } from './wire';
import { uint64FromWire } from './wire';

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

/** LEADERSHIP_PACKAGE is the proto package of the public API. */
const LEADERSHIP_PACKAGE = 'omnirelay.leadership.v1';

/** LEADERSHIP_SERVICE is the Leadership service's full name in the package definition. */
const LEADERSHIP_SERVICE = `${LEADERSHIP_PACKAGE}.Leadership`;

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

/** DecodedKeepAliveResult is the part of a decoded KeepAliveResult message the SDK reads. */
interface DecodedKeepAliveResult {
  readonly renewed: boolean;
  readonly errorCode: string;
  readonly currentFenceToken?: { readonly low: number; readonly high: number } | number | null;
}

/**
 * keepAliveResponseDecoder decodes KeepAliveResponse messages into what the SDK reads of them.
 * proto-loader's decoder converts every result to a plain object, each uint64 (the echoed fence
 * and the new deadline, two per lease) into a decimal string through Long: that was the largest
 * share of a renewing client's CPU after grpc-js. This one takes protobufjs's decoded message
 * and keeps `renewed`, `errorCode` and, on a refusal, the current fence.
 */
export function keepAliveResponseDecoder(
  root: protobuf.Root,
): (bytes: Buffer) => { results: WireKeepAliveResult[] } {
  const type = root.lookupType(`${LEADERSHIP_PACKAGE}.KeepAliveResponse`);
  return (bytes: Buffer) => {
    const decoded = type.decode(bytes) as unknown as { results: DecodedKeepAliveResult[] };
    const results: WireKeepAliveResult[] = [];
    for (const r of decoded.results) {
      // The decoder sets a field on the message only when it was on the wire; an absent
      // current fence (a vacant scope) reads as the prototype's default 0, which is not a fence.
      const current = Object.prototype.hasOwnProperty.call(r, 'currentFenceToken')
        ? r.currentFenceToken
        : null;
      results.push(
        current === undefined || current === null
          ? { renewed: r.renewed, errorCode: r.errorCode }
          : { renewed: r.renewed, errorCode: r.errorCode, currentFenceToken: uint64FromWire(current) },
      );
    }
    return { results };
  };
}

/**
 * keepAliveRequestEncoder encodes KeepAliveRequest messages as the SDK builds them (WireLeaseRef:
 * fields of the right types, fences as 32-bit halves) straight to bytes. proto-loader's encoder
 * first copies every request into a message object (fromObject), a lease at a time.
 */
export function keepAliveRequestEncoder(root: protobuf.Root): (request: object) => Buffer {
  const type = root.lookupType(`${LEADERSHIP_PACKAGE}.KeepAliveRequest`);
  // In Node.js protobufjs writes into a Buffer (its BufferWriter), as proto-loader's encoder returns.
  return (request) => type.encode(request).finish() as Buffer;
}

/** loadServiceClients loads proto/leadership.proto once per process. */
export function loadServiceClients(): ServiceClients {
  if (loaded === undefined) {
    const definition = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
    const methods = definition[LEADERSHIP_SERVICE] as Record<
      string,
      protoLoader.MethodDefinition<object, object>
    >;
    const watch = methods.Watch!;
    watch.responseDeserialize = decodeRepeatsOnce(watch.responseDeserialize);
    const messages = protobuf.loadSync(PROTO_PATH);
    methods.KeepAlive!.requestSerialize = keepAliveRequestEncoder(messages);
    methods.KeepAlive!.responseDeserialize = keepAliveResponseDecoder(messages);
    const root = grpc.loadPackageDefinition(definition) as unknown as {
      omnirelay: { leadership: { v1: ServiceClients } };
    };
    loaded = root.omnirelay.leadership.v1;
  }
  return loaded;
}
