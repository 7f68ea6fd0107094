import type * as protoLoader from '@grpc/proto-loader';

/**
 * SAMPLE_DEPTH_MAX bounds how deep a sample message nests (a type that contains itself stops
 * there; ours nest three levels at most).
 */
const SAMPLE_DEPTH_MAX = 6;

/** CodecWarmth is what warmCodecs did: methods whose four codecs ran, and those that threw. */
export interface CodecWarmth {
  readonly methods: number;
  readonly failed: readonly string[];
}

type Descriptor = {
  readonly name?: string;
  readonly field?: ReadonlyArray<{
    readonly name: string;
    readonly type: string;
    readonly label: string;
    readonly typeName: string;
  }>;
  readonly nestedType?: readonly Descriptor[];
  readonly value?: ReadonlyArray<{ readonly name: string }>;
  readonly options?: { readonly mapEntry?: boolean } | null;
};

/**
 * warmCodecs sends one sample of every request and response type of every method in `definition`
 * through the method's serializer and deserializer, every field of every nested message set.
 * protobufjs generates a message type's encoder, decoder and object converters on their first
 * use, with `new Function`: otherwise that compilation ran inside the first call of each kind a
 * process served, which on a member taking office for the first time is on the critical path of a
 * transfer (bench/README.md "Session 30": 7.7–10.2 ms of a node's CPU in a first transfer's
 * window went to protobufjs, 0–1.5 ms in later ones). A codec that throws on a sample is skipped and named.
 */
export function warmCodecs(definition: protoLoader.PackageDefinition): CodecWarmth {
  let methods = 0;
  const failed: string[] = [];
  for (const [serviceName, service] of Object.entries(definition)) {
    if ('format' in service) continue;
    for (const [methodName, method] of Object.entries(service)) {
      try {
        const request = sampleOf(definition, serviceName, method.requestType);
        method.requestDeserialize(method.requestSerialize(request));
        const response = sampleOf(definition, serviceName, method.responseType);
        method.responseDeserialize(method.responseSerialize(response));
        methods++;
      } catch {
        failed.push(`${serviceName}.${methodName}`);
      }
    }
  }
  return { methods, failed };
}

/**
 * sampleOf is an object with every field of `message`, a method's request or response type, set
 * to a value of its type. The method's definition carries a copy of the type's descriptor, named
 * without its package: it is found from the service's scope, for the nested types' names to resolve.
 */
function sampleOf(
  definition: protoLoader.PackageDefinition,
  serviceName: string,
  message: protoLoader.MessageTypeDefinition<object, object>,
): Record<string, unknown> {
  const type = message.type as Descriptor;
  const found = resolve(definition, serviceName, type.name ?? '') ?? { type, name: '' };
  return sampleOfDescriptor(definition, found.type, found.name, SAMPLE_DEPTH_MAX);
}

function sampleOfDescriptor(
  definition: protoLoader.PackageDefinition,
  type: Descriptor,
  fullName: string,
  depthLeft: number,
): Record<string, unknown> {
  const sample: Record<string, unknown> = {};
  for (const field of type.field ?? []) {
    let value: unknown;
    if (field.type === 'TYPE_MESSAGE') {
      const nested = type.nestedType?.find((n) => n.name === field.typeName);
      if (nested?.options?.mapEntry === true) {
        const entry = sampleOfDescriptor(definition, nested, `${fullName}.${nested.name}`, depthLeft - 1);
        sample[field.name] = { [String(entry['key'])]: entry['value'] };
        continue;
      }
      if (depthLeft <= 0) continue;
      const resolved =
        nested !== undefined
          ? { type: nested, name: `${fullName}.${nested.name}` }
          : resolve(definition, fullName, field.typeName);
      if (resolved === undefined) continue;
      value = sampleOfDescriptor(definition, resolved.type, resolved.name, depthLeft - 1);
    } else if (field.type === 'TYPE_ENUM') {
      value = resolve(definition, fullName, field.typeName)?.type.value?.[0]?.name ?? 0;
    } else {
      value = scalarSample(field.type);
    }
    sample[field.name] = field.label === 'LABEL_REPEATED' ? [value] : value;
  }
  return sample;
}

/** resolve finds `typeName` as protobuf scoping does: in `scope`, then in each enclosing scope. */
function resolve(
  definition: protoLoader.PackageDefinition,
  scope: string,
  typeName: string,
): { readonly type: Descriptor; readonly name: string } | undefined {
  const name = typeName.startsWith('.') ? typeName.slice(1) : typeName;
  const parts = scope.split('.');
  for (let n = parts.length; n >= 0; n--) {
    const candidate = [...parts.slice(0, n), name].join('.');
    const found = definition[candidate];
    if (found !== undefined && 'format' in found) return { type: found.type as Descriptor, name: candidate };
  }
  return undefined;
}

function scalarSample(type: string): unknown {
  switch (type) {
    case 'TYPE_STRING':
      return 'x';
    case 'TYPE_BYTES':
      return Buffer.from([1]);
    case 'TYPE_BOOL':
      return true;
    case 'TYPE_DOUBLE':
    case 'TYPE_FLOAT':
      return 1.5;
    default:
      return 1;
  }
}
