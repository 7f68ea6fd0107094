import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { PROTO_LOADER_OPTIONS, RAFT_PROTO_PATH } from '../../src/transport/proto';
import { warmCodecs } from '../../src/transport/warm-codecs';

const LEADERSHIP_PROTO_PATH = join(__dirname, '../../../../proto/leadership.proto');

/** spied loads `path` with every method's serializers recording what they were given. */
function spied(path: string): { definition: protoLoader.PackageDefinition; seen: Map<string, unknown[]> } {
  const definition = protoLoader.loadSync(path, PROTO_LOADER_OPTIONS);
  const seen = new Map<string, unknown[]>();
  for (const [serviceName, service] of Object.entries(definition)) {
    if ('format' in service) continue;
    for (const [methodName, method] of Object.entries(service)) {
      const record = (side: string, serialize: (value: object) => Buffer) => (value: object) => {
        seen.set(`${serviceName}.${methodName}.${side}`, [value]);
        return serialize(value);
      };
      Object.assign(method, {
        requestSerialize: record('request', method.requestSerialize),
        responseSerialize: record('response', method.responseSerialize),
      });
    }
  }
  return { definition, seen };
}

describe('warmCodecs', () => {
  it('runs every method of both protos through all four codecs, none failing', () => {
    for (const [path, methods] of [
      [RAFT_PROTO_PATH, 3],
      [LEADERSHIP_PROTO_PATH, 22],
    ] as const) {
      const warmth = warmCodecs(protoLoader.loadSync(path, PROTO_LOADER_OPTIONS));
      expect(warmth.failed).toEqual([]);
      expect(warmth.methods).toBe(methods);
    }
  });

  it('fills every nested message, repeated field and map, so nested types are generated too', () => {
    const { definition, seen } = spied(RAFT_PROTO_PATH);
    warmCodecs(definition);
    const batch = seen.get('omnirelay.raft.v1.RaftPeer.Stream.request')?.[0] as {
      messages: Array<{
        entries: Array<{ kind: string; membership: { addresses: object }; change: object }>;
      }>;
    };
    const entry = batch.messages[0]!.entries[0]!;
    expect(entry.kind).toBe('ENTRY_KIND_UNSPECIFIED');
    expect(Object.keys(entry.membership.addresses)).toHaveLength(1);
    expect(entry.change).toEqual(expect.objectContaining({ node: 'x' }));
  });

  it('names a method whose codec throws and goes on with the others', () => {
    const { definition } = spied(RAFT_PROTO_PATH);
    const stream = (definition['omnirelay.raft.v1.RaftPeer'] as protoLoader.ServiceDefinition)['Stream']!;
    Object.assign(stream, {
      requestSerialize: () => {
        throw new Error('broken codec');
      },
    });
    const warmth = warmCodecs(definition);
    expect(warmth.failed).toEqual(['omnirelay.raft.v1.RaftPeer.Stream']);
    expect(warmth.methods).toBe(2);
  });
});
