import {
  SNAPSHOT_FILE_CHECKSUM_BYTES,
  decodeSnapshotFile,
  encodeSnapshotFile,
  isSnapshotFileError,
} from '../src/index';

const header = {
  clusterId: 'prod-a',
  index: 1234,
  term: 7,
  membership: { voters: ['n1', 'n2', 'n3'], learners: [], addresses: { n3: '127.0.0.1:7003' } },
  takenBy: 'n1',
  takenAtMs: 1_700_000_000_000,
  scopes: 3,
  leases: 2,
  waiting: 1,
};

function fileOf(data: Uint8Array): Buffer {
  return Buffer.concat(encodeSnapshotFile(header, data));
}

describe('snapshot file', () => {
  it('decodes what it encoded, with the header, the data and the checksum', () => {
    const data = Buffer.from('state machine bytes');
    const file = decodeSnapshotFile(fileOf(data));
    expect(file.header).toEqual({ ...header, dataBytes: data.length });
    expect(Buffer.from(file.data).equals(data)).toBe(true);
    expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses bytes that do not start with the magic header', () => {
    expect(() => decodeSnapshotFile(Buffer.from('{"not":"a snapshot"}'))).toThrow(
      /not an OmniRelay snapshot/,
    );
  });

  it('refuses a file cut short anywhere with a checksum error', () => {
    const bytes = fileOf(Buffer.alloc(1000, 7));
    for (const length of [10, 20, 100, bytes.length - SNAPSHOT_FILE_CHECKSUM_BYTES, bytes.length - 1]) {
      let error: unknown;
      try {
        decodeSnapshotFile(bytes.subarray(0, length));
      } catch (e) {
        error = e;
      }
      expect(isSnapshotFileError(error, 'SNAPSHOT_CHECKSUM_MISMATCH')).toBe(true);
    }
  });

  it('refuses a file with one byte changed in the header, the data or the checksum', () => {
    const bytes = fileOf(Buffer.alloc(1000, 7));
    for (const at of [20, 100, 600, bytes.length - 1]) {
      const tampered = Buffer.from(bytes);
      tampered[at] = tampered[at]! ^ 1;
      expect(() => decodeSnapshotFile(tampered)).toThrow(/checksum \(SHA-256\) does not match/);
    }
  });

  it('refuses another format version', () => {
    const bytes = fileOf(Buffer.alloc(10));
    bytes.writeUInt16BE(2, 8);
    let error: unknown;
    try {
      decodeSnapshotFile(bytes);
    } catch (e) {
      error = e;
    }
    expect(isSnapshotFileError(error, 'SNAPSHOT_VERSION_UNSUPPORTED')).toBe(true);
  });

  it('refuses a header without voters even when its checksum matches', () => {
    const parts = encodeSnapshotFile(
      { ...header, membership: { voters: [], learners: [] } },
      Buffer.alloc(3),
    );
    expect(() => decodeSnapshotFile(Buffer.concat(parts))).toThrow(/membership has no voter/);
  });
});
