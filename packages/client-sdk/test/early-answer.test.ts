import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '@omnirelay/server';
import { bindLoopback, grantedAnswer, statusOf } from './support/fake-node';
import { createClient, isOmniRelayError } from '../src/index';

/** TRAILERS_HELD_MS_MAX bounds how long the fake node holds a call's status back. */
const TRAILERS_HELD_MS_MAX = 5000;

/**
 * A unary answer is taken from the response message, not from the status that follows it: a
 * grpc-js server (and so a Raft leader busy with the same write) sends the status a turn or more
 * of its event loop after the message. The fake node here sends an Acquire's response message and
 * holds the status back until the client has resolved (or TRAILERS_HELD_MS_MAX passed): a client
 * that waits for the status resolves only after the fake gave up holding it.
 */
describe('an answer whose status comes later', () => {
  let server: grpc.Server;
  let address = '';
  /** statusSent is whether the fake node has ended the current Acquire with its status. */
  let statusSent = false;
  /** releaseStatus lets the fake node send the held status. */
  let releaseStatus: () => void = () => undefined;
  /** refuse makes the next Acquire answer NOT_LEADER with no message. */
  let refuse = false;
  /** failAfterMessage makes the next Acquire end with UNAVAILABLE right after its message. */
  let failAfterMessage = false;

  beforeAll(async () => {
    server = new grpc.Server();
    const api = loadPublicApi();
    // On the wire a unary response is one message then the status, as a server stream of one
    // message: served as a stream, the fake node decides when the status goes.
    const acquire = { ...api.leadership.definition['Acquire']!, responseStream: true };
    server.addService(
      { ...api.leadership.definition, Acquire: acquire },
      {
        Acquire: (call: grpc.ServerWritableStream<{ scope: string }, object>) => {
          if (refuse) {
            const metadata = new grpc.Metadata();
            metadata.set('omnirelay-error-code', 'NOT_LEADER');
            call.emit('error', {
              code: grpc.status.FAILED_PRECONDITION,
              details: 'not the leader',
              metadata,
            });
            return;
          }
          statusSent = false;
          call.write(grantedAnswer(call.request.scope, 7));
          if (failAfterMessage) {
            statusSent = true;
            call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'gone after answering' });
            return;
          }
          const end = (): void => {
            clearTimeout(timer);
            if (statusSent) return;
            statusSent = true;
            call.end();
          };
          const timer = setTimeout(end, TRAILERS_HELD_MS_MAX);
          releaseStatus = end;
        },
      },
    );
    server.addService(api.cluster.definition, { Status: statusOf('n1', 'n1') });
    address = await bindLoopback(server);
  });

  afterAll(() => server.forceShutdown());

  it('resolves an acquire on its response message, before the status arrives', async () => {
    const client = createClient({ endpoints: [address], callTimeoutMs: 10_000 });
    try {
      const lease = await client.acquire('early/one', { ttlMs: 60_000 });
      const statusSentAtAnswer = statusSent;
      releaseStatus();
      expect(lease?.fence).toBe(7n);
      expect(statusSentAtAnswer).toBe(false);
    } finally {
      releaseStatus();
      client.close();
    }
  });

  it('keeps an answer whose message came before an error status', async () => {
    failAfterMessage = true;
    const client = createClient({ endpoints: [address], callTimeoutMs: 10_000 });
    try {
      const lease = await client.acquire('early/then-failed', { ttlMs: 60_000 });
      expect(lease?.fence).toBe(7n);
    } finally {
      failAfterMessage = false;
      client.close();
    }
  });

  it('still rejects a call answered with an error status and no message', async () => {
    refuse = true;
    const client = createClient({ endpoints: [address], callTimeoutMs: 2000 });
    try {
      const outcome = await client.acquire('early/refused', { ttlMs: 60_000 }).then(
        () => 'resolved',
        (e: unknown) => e,
      );
      expect(isOmniRelayError(outcome, 'NOT_LEADER')).toBe(true);
    } finally {
      refuse = false;
      client.close();
    }
  });
});
