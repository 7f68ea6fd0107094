import { decodeRepeatsOnce, loadServiceClients } from '../src/proto';

describe('decodeRepeatsOnce', () => {
  it('decodes bytes equal to the last ones once and hands out the same object', () => {
    let decodes = 0;
    const decode = decodeRepeatsOnce((bytes: Buffer) => {
      decodes++;
      return { text: bytes.toString() };
    });
    const first = decode(Buffer.from('revision 5'));
    const again = decode(Buffer.from('revision 5'));
    expect(again).toBe(first);
    expect(decodes).toBe(1);
  });

  it('decodes different bytes afresh', () => {
    const decode = decodeRepeatsOnce((bytes: Buffer) => ({ text: bytes.toString() }));
    expect(decode(Buffer.from('revision 5')).text).toBe('revision 5');
    expect(decode(Buffer.from('revision 6')).text).toBe('revision 6');
    expect(decode(Buffer.from('revision 5')).text).toBe('revision 5');
  });

  it('is not fooled when the memory of the last message is reused for another', () => {
    const decode = decodeRepeatsOnce((bytes: Buffer) => ({ text: bytes.toString() }));
    const buffer = Buffer.from('revision 5');
    decode(buffer);
    buffer.write('revision 6');
    expect(decode(buffer).text).toBe('revision 6');
  });
});

describe('loadServiceClients', () => {
  it('decodes a Watch response repeated on many streams once', () => {
    const watch = loadServiceClients().Leadership.service.Watch!;
    const bytes = watch.responseSerialize({
      revision: '12',
      events: [{ revision: '12', scope: 'orders/1', reason: 'HOLDER_CHANGE_REASON_RESIGNED' }],
    });
    const first = watch.responseDeserialize(Buffer.from(bytes)) as { revision: string };
    const second = watch.responseDeserialize(Buffer.from(bytes)) as unknown;
    expect(first.revision).toBe('12');
    expect(second).toBe(first);
  });
});
