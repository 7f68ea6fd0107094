import type * as grpc from '@grpc/grpc-js';

const MALFORMED = Symbol('omnirelay.malformedRequest');

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
 * guardDeserializers returns a copy of `definition` whose request decoders never throw: bytes
 * that are not a valid message become a MalformedRequest, which the handler answers with
 * INVALID_ARGUMENT (grpc-js would otherwise answer INTERNAL, which blames the server).
 */
export function guardDeserializers(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const guarded: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize;
    guarded[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch (e) {
          const reason = e instanceof Error ? e.message : 'undecodable bytes';
          return { [MALFORMED]: reason } satisfies MalformedRequest;
        }
      },
    };
  }
  return guarded;
}
