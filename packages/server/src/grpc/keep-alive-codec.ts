import type * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { LEADERSHIP_PROTO_PATH } from './proto';

/** LEADERSHIP_PACKAGE is the proto package of the public API. */
const LEADERSHIP_PACKAGE = 'omnirelay.leadership.v1';

/**
 * DecodedLeaseRef is one LeaseRef of a KeepAlive request as keepAliveCodec decodes it: the fence
 * token as a bigint (0 when absent, which the handler refuses like any fence out of range).
 */
export interface DecodedLeaseRef {
  readonly scope: string;
  readonly fenceToken: bigint;
  readonly releaseOnResetMs: number;
}

/** LongBits is a uint64 as protobufjs decodes it (a Long), or a number where it has no Long. */
type LongBits = { readonly low: number; readonly high: number } | number;

/** uint64FromDecoded reads a decoded uint64 as a bigint, from its two 32-bit halves. */
function uint64FromDecoded(value: LongBits): bigint {
  if (typeof value === 'number') return BigInt(value);
  const low = BigInt(value.low >>> 0);
  return value.high === 0 ? low : (BigInt(value.high >>> 0) << 32n) | low;
}

/** KeepAliveTypes are the two message types keepAliveCodec encodes and decodes. */
interface KeepAliveTypes {
  readonly requestType: protobuf.Type;
  readonly responseType: protobuf.Type;
}

let keepAliveTypesLoaded: KeepAliveTypes | undefined;

/**
 * keepAliveTypes parses the public API's proto once per process (as loadPublicApi does for
 * proto-loader's definition): the test suites start many servers in one process.
 */
function keepAliveTypes(): KeepAliveTypes {
  if (keepAliveTypesLoaded === undefined) {
    const root = protobuf.loadSync(LEADERSHIP_PROTO_PATH);
    keepAliveTypesLoaded = {
      requestType: root.lookupType(`${LEADERSHIP_PACKAGE}.KeepAliveRequest`),
      responseType: root.lookupType(`${LEADERSHIP_PACKAGE}.KeepAliveResponse`),
    };
  }
  return keepAliveTypesLoaded;
}

/**
 * keepAliveCodec returns KeepAlive's method definition with its own request decoder and response
 * encoder. proto-loader's codec turns every message into a plain object field by field: each
 * request's fences became decimal strings through Long (and were parsed back into bigints), and
 * each answer was copied into a message object (fromObject) before it was encoded. At 100,000
 * leases that was about 4% of the leader's CPU, and a follower relaying a client's stream decoded
 * every request the same way only to forward its bytes. The bytes on the wire are the same: this decodes with
 * protobufjs's reader into DecodedLeaseRefs and encodes the handler's answers (WireKeepAliveResult:
 * fences as WireUint64 halves or decimal strings, which protobufjs encodes alike) as they are.
 */
export function keepAliveCodec(
  method: grpc.MethodDefinition<unknown, unknown>,
): grpc.MethodDefinition<unknown, unknown> {
  const { requestType, responseType } = keepAliveTypes();
  return {
    ...method,
    requestDeserialize: (bytes: Buffer): { leases: DecodedLeaseRef[] } => {
      const decoded = requestType.decode(bytes) as unknown as {
        leases: { scope: string; fenceToken: LongBits; releaseOnResetMs: number }[];
      };
      const leases = new Array<DecodedLeaseRef>(decoded.leases.length);
      decoded.leases.forEach((ref, i) => {
        leases[i] = {
          scope: ref.scope,
          fenceToken: uint64FromDecoded(ref.fenceToken),
          releaseOnResetMs: ref.releaseOnResetMs,
        };
      });
      return { leases };
    },
    // In Node.js protobufjs writes into a Buffer (its BufferWriter), as proto-loader's encoder returns.
    responseSerialize: (value: unknown): Buffer => responseType.encode(value as object).finish() as Buffer,
  };
}
