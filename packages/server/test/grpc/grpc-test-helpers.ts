import * as grpc from '@grpc/grpc-js';
import type { OmniRelayServer } from '../../src/index';
import { loadPublicApi } from '../../src/index';
import { startSingleNode } from '../support/single-node';

/** Msg is a decoded message as the test client sees it (proto-loader's object form). */
export type Msg = Record<string, unknown>;

/** WAIT_MS bounds every wait in these tests. */
export const WAIT_MS = 10_000;

/** Solo is a single-node server started in-process, with clients of both public services. */
export interface Solo {
  readonly server: OmniRelayServer;
  readonly leadership: grpc.Client;
  readonly cluster: grpc.Client;
  stop(): Promise<void>;
}

/** startSolo starts a one-node server (see startSingleNode) with clients of both public services. */
export async function startSolo(extraArgs: readonly string[] = []): Promise<Solo> {
  const node = await startSingleNode(extraArgs);
  const server = node.server;
  const api = loadPublicApi();
  const leadership = new api.leadership.Client(server.grpcAddress, grpc.credentials.createInsecure());
  const cluster = new api.cluster.Client(server.grpcAddress, grpc.credentials.createInsecure());
  return {
    server,
    leadership,
    cluster,
    stop: async () => {
      leadership.close();
      cluster.close();
      await node.stop();
    },
  };
}

/**
 * ownConnection makes a Leadership client on a connection of its own: grpc-js otherwise shares
 * one connection among clients of the same address and options.
 */
export function ownConnection(address: string): grpc.Client {
  return new (loadPublicApi().leadership.Client)(address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
}

/** openCampaign opens a Campaign call with no deadline (only the server or a cancel ends it). */
export function openCampaign(client: grpc.Client, request: object): grpc.ClientReadableStream<Msg> {
  return method<(request: object) => grpc.ClientReadableStream<Msg>>(client, 'Campaign')(request);
}

/** sleep waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type UnaryMethod = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: Msg) => void,
) => grpc.ClientUnaryCall;

type StreamMethod = (request: object, options: grpc.CallOptions) => grpc.ClientReadableStream<Msg>;

type DuplexMethod = (options: grpc.CallOptions) => grpc.ClientDuplexStream<object, Msg>;

function method<T>(client: grpc.Client, name: string): T {
  const fn = (client as unknown as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new Error(`no method ${name}`);
  return (fn as (...args: unknown[]) => unknown).bind(client) as T;
}

/** unary calls a unary method with a deadline (and `metadata`); it rejects with the call's ServiceError. */
export function unary(
  client: grpc.Client,
  name: string,
  request: object,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<Msg> {
  return new Promise((resolve, reject) => {
    method<UnaryMethod>(client, name)(
      request,
      metadata,
      { deadline: Date.now() + WAIT_MS },
      (error, response) => (error === null ? resolve(response ?? {}) : reject(error)),
    );
  });
}

/** serverStream opens a server-streaming call with a deadline. */
export function serverStream(
  client: grpc.Client,
  name: string,
  request: object,
): grpc.ClientReadableStream<Msg> {
  return method<StreamMethod>(client, name)(request, { deadline: Date.now() + WAIT_MS });
}

/** duplex opens a bidirectional call with a deadline. */
export function duplex(client: grpc.Client, name: string): grpc.ClientDuplexStream<object, Msg> {
  return method<DuplexMethod>(client, name)({ deadline: Date.now() + WAIT_MS });
}

/** failureOf awaits a call expected to fail and returns its ServiceError. */
export async function failureOf(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error('the call succeeded; a failure was expected');
}

/** errorCodeOf reads the omnirelay-error-code trailing metadata of a failed call. */
export function errorCodeOf(error: grpc.ServiceError): string | undefined {
  return metadataOf(error, 'omnirelay-error-code');
}

/** metadataOf reads one trailing-metadata value of a failed call. */
export function metadataOf(error: grpc.ServiceError, key: string): string | undefined {
  const value = error.metadata?.get(key)[0];
  return value === undefined ? undefined : String(value);
}

/**
 * StreamReader buffers a stream's messages from the moment it is made (none is lost between
 * reads) and records how the stream ended.
 */
export class StreamReader {
  private readonly messages: Msg[] = [];
  private waiter: (() => void) | undefined;
  /** ended is set once the stream ended: the error for a failure, null for OK. */
  ended: grpc.ServiceError | null | undefined;

  constructor(call: grpc.ClientReadableStream<Msg> | grpc.ClientDuplexStream<object, Msg>) {
    call.on('data', (m: Msg) => {
      this.messages.push(m);
      this.waiter?.();
    });
    call.on('error', (e: grpc.ServiceError) => {
      this.ended ??= e;
      this.waiter?.();
    });
    call.on('end', () => {
      this.ended ??= null;
      this.waiter?.();
    });
  }

  /** next waits (bounded) for the next message; it fails if the stream ends first. */
  async next(): Promise<Msg> {
    await this.until(() => this.messages.length > 0 || this.ended !== undefined);
    const m = this.messages.shift();
    if (m === undefined) throw new Error(`the stream ended: ${String(this.ended?.message ?? 'OK')}`);
    return m;
  }

  /** end waits (bounded) for the stream to end and returns its error (null: OK) and the unread messages. */
  async end(): Promise<{ error: grpc.ServiceError | null; messages: Msg[] }> {
    await this.until(() => this.ended !== undefined);
    return { error: this.ended ?? null, messages: this.messages.splice(0) };
  }

  private async until(ready: () => boolean): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`nothing happened on the stream within ${WAIT_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }
}

/** streamReady waits (bounded) until a server stream's headers arrived (Watch: the watch is registered). */
export function streamReady(call: grpc.ClientReadableStream<Msg>): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no headers within ${WAIT_MS} ms`)), WAIT_MS);
    call.once('metadata', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** lease reads a Lease field of a response. */
export function leaseOf(m: Msg, field: string): Msg {
  const v = m[field];
  if (typeof v !== 'object' || v === null) throw new Error(`${field} is not set in ${JSON.stringify(m)}`);
  return v as Msg;
}
