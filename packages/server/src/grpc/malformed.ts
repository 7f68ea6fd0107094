import type * as grpc from '@grpc/grpc-js';

const MALFORMED = Symbol('omnirelay.malformedRequest');
const RAW_BYTES = Symbol('omnirelay.rawRequestBytes');

/** MalformedRequest stands in for a request message whose bytes did not decode. */
export interface MalformedRequest {
  readonly [MALFORMED]: string;
}

/** isMalformedRequest tells a MalformedRequest apart from a decoded message. */
export function isMalformedRequest(value: unknown): value is MalformedRequest {
  return typeof value === 'object' && value !== null && MALFORMED in value;
}

/** malformedReason is why the request's bytes did not decode. */
export function malformedReason(value: MalformedRequest): string {
  return value[MALFORMED];
}

/**
 * rawBytesOf returns the bytes a request message was decoded from (every request decoded by a
 * guarded definition keeps them), so a follower forwards exactly what the client sent.
 */
export function rawBytesOf(request: unknown): Buffer | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const raw = (request as { [RAW_BYTES]?: unknown })[RAW_BYTES];
  return Buffer.isBuffer(raw) ? raw : undefined;
}

/**
 * guardDeserializers returns a copy of `definition` whose request decoders never throw: bytes
 * that are not a valid message become a MalformedRequest, which the handler answers with
 * INVALID_ARGUMENT (grpc-js would otherwise answer INTERNAL, which blames the server). Each
 * decoded request keeps its bytes in a hidden property (see rawBytesOf).
 */
export function guardDeserializers(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const guarded: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize;
    guarded[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        let request: unknown;
        try {
          request = decode(bytes);
        } catch (e) {
          const reason = e instanceof Error ? e.message : 'undecodable bytes';
          request = { [MALFORMED]: reason } satisfies MalformedRequest;
        }
        if (typeof request === 'object' && request !== null) {
          Object.defineProperty(request, RAW_BYTES, { value: bytes, enumerable: false });
        }
        return request;
      },
    };
  }
  return guarded;
}
