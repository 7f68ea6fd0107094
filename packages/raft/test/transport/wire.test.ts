import { Packr } from 'msgpackr';
import type { Entry, Message } from '../../src/core/index';
import { isWellFormedMessage } from '../../src/core/index';
import { loadRaftPeerService } from '../../src/transport/proto';
import type { WireMessage } from '../../src/transport/wire';
import {
  messageFromWire,
  messageToWire,
  snapshotMetaFromWire,
  snapshotMetaToWire,
} from '../../src/transport/wire';

/** roundTrip sends `m` through the real protobuf encoding of a MessageBatch and back. */
function roundTrip(m: Exclude<Message, { type: 'snapshot' }>): unknown {
  const stream = loadRaftPeerService().definition['Stream']!;
  const bytes = stream.requestSerialize({ from: m.from, clusterId: 'c', messages: [messageToWire(m)] });
  const batch = stream.requestDeserialize(bytes) as { messages: WireMessage[] };
  return messageFromWire(batch.messages[0]!);
}

function appendOf(entry: Entry): Exclude<Message, { type: 'snapshot' }> {
  return {
    type: 'append',
    from: 'n1',
    to: 'n2',
    term: 3,
    prevLogIndex: 4,
    prevLogTerm: 2,
    entries: [entry],
    commit: 4,
  };
}

/** packr encodes like the LevelDB store, so equal bytes mean an unchanged stored shape. */
const packr = new Packr({ useRecords: false, moreTypes: false });

describe('the peer wire encoding of memberships', () => {
  it("carries a new learner's client HTTP and gRPC addresses in the config entry and its membership", () => {
    const entry: Entry = {
      kind: 'config',
      index: 5,
      term: 3,
      membership: {
        voters: ['n1', 'n2', 'n3'],
        learners: ['n4'],
        addresses: { n4: '127.0.0.1:7104' },
        clientAddresses: { n4: '127.0.0.1:7204' },
        grpcAddresses: { n4: '127.0.0.1:7304' },
      },
      change: {
        type: 'addLearner',
        node: 'n4',
        address: '127.0.0.1:7104',
        clientAddress: '127.0.0.1:7204',
        grpcAddress: '127.0.0.1:7304',
      },
    };
    const got = roundTrip(appendOf(entry));
    expect(isWellFormedMessage(got)).toBe(true);
    expect(got).toEqual(appendOf(entry));
    expect(packr.pack((got as { entries: Entry[] }).entries[0])).toEqual(packr.pack(entry));
  });

  it('decodes a config entry without client addresses to the exact shape and bytes it had before', () => {
    const entry: Entry = {
      kind: 'config',
      index: 5,
      term: 3,
      membership: { voters: ['n1', 'n2', 'n3'], learners: ['n4'], addresses: { n4: '127.0.0.1:7104' } },
      change: { type: 'addLearner', node: 'n4', address: '127.0.0.1:7104' },
    };
    const got = roundTrip(appendOf(entry));
    expect(got).toEqual(appendOf(entry));
    expect(packr.pack((got as { entries: Entry[] }).entries[0])).toEqual(packr.pack(entry));
  });

  it('carries the client address books in snapshot metadata', () => {
    const meta = {
      index: 9,
      term: 2,
      membership: {
        voters: ['n1', 'n4'],
        learners: [],
        addresses: { n4: '127.0.0.1:7104' },
        clientAddresses: { n4: '127.0.0.1:7204' },
        grpcAddresses: { n4: '127.0.0.1:7304' },
      },
    };
    const install = loadRaftPeerService().definition['InstallSnapshot']!;
    const bytes = install.requestSerialize({ from: 'n1', to: 'n2', term: 2, meta: snapshotMetaToWire(meta) });
    const chunk = install.requestDeserialize(bytes) as { meta: Parameters<typeof snapshotMetaFromWire>[0] };
    expect(snapshotMetaFromWire(chunk.meta)).toEqual(meta);
  });
});
