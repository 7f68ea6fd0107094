/**
 * The etcd lease worker thread of the scale bench: it opens `streams` etcd3 clients to the leader
 * member, grants its share of the leases (compare's acquire: LeaseGrant + Txn on a key of its own),
 * and keeps each one alive every TTL / 3 from its grant over LeaseKeepAlive streams of its own (one
 * per client; lease k rides on stream k mod `streams`, since etcd answers a stream's requests one
 * by one). A stream that breaks is opened again on the next keep-alive that needs it.
 *
 * Messages in: {type:'measure'} (forget the renewal samples and window figures so far),
 * {type:'report'} (post the figures), {type:'stop'} (stop renewing, close every stream and client,
 * exit). Out: {type:'held', held, failed} once every grant ended, {type:'report',
 * ...EtcdWorkerReport}, {type:'error', message}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Etcd3 } from 'etcd3';
import { ETCD_CALL_MS_MAX, KeepAliveStream, etcdClient, grantLeaseOnKey } from '../compare/etcd-target';
import { withAttempts } from './attempts';
import { KeepAliveLoop } from './keep-alive-loop';
import type { EtcdLease, KeepAliveFigures } from './keep-alive-loop';

/** EtcdLeaseWorkerData is what the bench hands each etcd lease worker. */
export interface EtcdLeaseWorkerData {
  /** endpoint is the leader member's client URL; leader its name (the value put under each key). */
  readonly endpoint: string;
  readonly leader: string;
  /** firstLease is the global index of this worker's first lease (it names the keys). */
  readonly firstLease: number;
  readonly leases: number;
  readonly ttlMs: number;
  /** acquireConcurrency is how many grant + txn pairs this worker keeps in flight while filling up. */
  readonly acquireConcurrency: number;
  /** streams is how many clients, each with one keep-alive stream, this worker opens. */
  readonly streams: number;
  /** inflightMax bounds this worker's keep-alives in flight. */
  readonly inflightMax: number;
  /** fillMsMax bounds this worker's grants; past it the leases granted so far are kept alive. */
  readonly fillMsMax: number;
}

/** EtcdWorkerReport is one worker's figures. */
export interface EtcdWorkerReport extends KeepAliveFigures {
  /** held counts the leases granted and not lost since. */
  readonly held: number;
  /** acquireFailed counts the leases whose grant failed every attempt. */
  readonly acquireFailed: number;
  /** streamsOpened counts keep-alive streams opened (more than `streams` when some broke). */
  readonly streamsOpened: number;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function main(data: EtcdLeaseWorkerData): void {
  const port = parentPort;
  if (port === null) throw new Error('etcd-lease-worker must run in a worker thread');
  const clients: Etcd3[] = Array.from({ length: data.streams }, () => etcdClient(data.endpoint));
  const streams: (Promise<KeepAliveStream> | undefined)[] = clients.map(() => undefined);
  let streamsOpened = 0;
  let stopping = false;

  /** stream is stream `k`, opened again when the last one broke (or never opened). */
  const stream = (k: number): Promise<KeepAliveStream> => {
    const open = streams[k];
    if (open !== undefined) return open;
    streamsOpened++;
    const opening = clients[k]!.leaseClient.leaseKeepAlive().then((raw) => {
      const forget = (): void => {
        if (streams[k] === opening) streams[k] = undefined;
      };
      raw.on('error', forget);
      raw.on('end', forget);
      return new KeepAliveStream(raw);
    });
    opening.catch(() => {
      if (streams[k] === opening) streams[k] = undefined;
    });
    streams[k] = opening;
    return opening;
  };

  // etcd's clients keep a lease alive every TTL / 3 (clientv3: ttl / 3), the TTL in whole seconds.
  const loop = new KeepAliveLoop(
    Math.ceil(data.ttlMs / 1000) * (1000 / 3),
    data.inflightMax,
    async (lease: EtcdLease) => (await stream(lease.stream)).renew(lease.id, ETCD_CALL_MS_MAX),
  );

  let granted = 0;
  let acquireFailed = 0;
  const fillStarted = performance.now();
  let next = 0;
  const one = async (): Promise<void> => {
    while (!stopping && next < data.leases && performance.now() - fillStarted < data.fillMsMax) {
      const index = next++;
      const k = index % data.streams;
      const scope = `scale/e/${data.firstLease + index}`;
      const ok = await withAttempts(async () => {
        // The lease's TTL runs from its grant: its first keep-alive is due one interval after.
        const grantedAt = performance.now();
        const { id } = await grantLeaseOnKey(clients[k]!, scope, data.ttlMs, data.leader);
        loop.add({ id, stream: k }, grantedAt);
      });
      if (ok) granted++;
      else acquireFailed++;
    }
  };
  Promise.all(Array.from({ length: data.acquireConcurrency }, () => one())).then(
    () => port.postMessage({ type: 'held', held: granted - loop.lostCount(), failed: acquireFailed }),
    (e: unknown) => port.postMessage({ type: 'error', message: message(e) }),
  );

  port.on('message', (m: { type: string }) => {
    if (m.type === 'measure') loop.measure();
    else if (m.type === 'report') {
      const figures = loop.figures();
      const report: EtcdWorkerReport = {
        ...figures,
        held: granted - figures.lost,
        acquireFailed,
        streamsOpened,
      };
      port.postMessage({ type: 'report', ...report });
    } else if (m.type === 'stop') {
      stopping = true;
      void (async () => {
        await loop.stop();
        for (const s of streams) await s?.then((open) => open.close()).catch(() => undefined);
        for (const c of clients) c.close();
        port.close();
      })();
    }
  });
}

main(workerData as EtcdLeaseWorkerData);
