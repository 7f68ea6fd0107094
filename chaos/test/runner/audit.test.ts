import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { auditStreamComplete, readEventStream } from '../../src/runner/audit';

const EVENT_3 =
  'id: 3\nevent: leadership\ndata: {"revision":3,"events":[{"scope":"a","reason":"granted","holder":null,"previousHolder":null}]}\n\n';

describe('auditStreamComplete', () => {
  it('is complete once an id reaches the target revision', () => {
    expect(auditStreamComplete(`: watching from revision 1\n\n${EVENT_3}`, 3)).toBe(true);
    expect(auditStreamComplete(`: watching from revision 1\n\n${EVENT_3}`, 4)).toBe(false);
  });

  it('is complete at the first ping even when the target revision changed no holder', () => {
    expect(auditStreamComplete(`: watching from revision 1\n\n${EVENT_3}: ping\n\n`, 9)).toBe(true);
  });
});

describe('readEventStream', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    // A node whose current revision (9) is a renewal: its stream replays revision 3, then pings.
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`: watching from revision 1\n\n${EVENT_3}`);
      setTimeout(() => res.write(': ping\n\n'), 100);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('ends at the ping when no holder change carries the current revision (holder-kill, seed 17)', async () => {
    const text = await readEventStream({ host: '127.0.0.1', port }, 9, 5000);
    expect(text).toContain('id: 3');
  });
});
