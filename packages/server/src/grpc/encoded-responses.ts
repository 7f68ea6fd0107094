import type * as grpc from '@grpc/grpc-js';

/**
 * passEncodedResponses returns a copy of `definition` whose response encoders pass a Buffer
 * through as it is: the bytes of an answer already serialized, such as the leader's answer a
 * follower relays, leave unchanged. Everything else is encoded as before (no response message of
 * ours is a Buffer).
 */
export function passEncodedResponses(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const passing: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    const encode = method.responseSerialize;
    passing[name] = {
      ...method,
      responseSerialize: (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : encode(value)),
    };
  }
  return passing;
}
