import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startSingleNode } from '../support/single-node';

describe('request logging on the client HTTP port', () => {
  jest.setTimeout(30_000);

  it('records the negotiated transport, method, path and status of every request', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n'))
          if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const node = await startSingleNode([], pino({ level: 'debug' }, sink));
    try {
      const res = await fetch(`http://${node.server.http.address}/control/leaders?scope=nobody`);
      expect(res.status).toBe(200);
      await fetch(`http://${node.server.http.address}/nope`);
      const deadline = Date.now() + 2000;
      while (lines.filter((l) => l['msg'] === 'http request').length < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const requests = lines.filter((l) => l['msg'] === 'http request');
      expect(requests).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            method: 'GET',
            path: '/control/leaders',
            status: 200,
            transport: 'HTTP/1.1',
          }),
          expect.objectContaining({ method: 'GET', path: '/nope', status: 404, transport: 'HTTP/1.1' }),
        ]),
      );
    } finally {
      await node.stop();
    }
  });
});
