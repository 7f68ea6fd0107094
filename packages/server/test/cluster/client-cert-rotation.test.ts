import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lease, OmniRelayClient, TlsOptions } from '../../../client-sdk/src/index';
import { createClient, isOmniRelayError } from '../../../client-sdk/src/index';
import { KeepAlive } from '../../../client-sdk/src/keep-alive';
import { issueCa, issueClient, issueNode } from '@omnirelay/certs';
import { PEER_TLS_REFRESH_MS } from '../../../raft/src/transport/peer-tls';
import { CLIENT_TLS_REFRESH_MS } from '../../src/tls/client-tls';
import { pollUntil, steadyViews, useLocalCluster } from './cluster-helpers';
import { handshake, replaceAtomically } from './tls-rotation-helpers';

jest.setTimeout(300_000);

/** IDS are the members of the cluster. */
const IDS = ['n1', 'n2', 'n3'] as const;

/** FLAGS keep elections rare on a busy machine: a rotation must not cost the leader its term. */
const FLAGS = ['--election-timeout-ms', '2000', '--heartbeat-ms', '100', '--stall-threshold-ms', '20000'];

/**
 * REREAD_WAIT_MS bounds the wait for every node's file watchers (client and peer ports, each
 * looking every CLIENT_TLS_REFRESH_MS or PEER_TLS_REFRESH_MS) to re-read rotated files: two
 * periods and then some for a busy machine.
 */
const REREAD_WAIT_MS = 2 * Math.max(CLIENT_TLS_REFRESH_MS, PEER_TLS_REFRESH_MS) + 5000;

/** REREAD_POLL_MS is how often the test looks whether the nodes re-read their files (a handshake with each port). */
const REREAD_POLL_MS = 250;

/** LEASES is how many leases the holder keeps alive through every rotation. */
const LEASES = 100;

/** LEASE_TTL_MS is each lease's TTL: the SDK renews every (TTL − skew) / 3, about 4.9 s. */
const LEASE_TTL_MS = 15_000;

/** SKEW_MS is the SDK's maxClockSkewMs (its default, the cluster's default --skew-ms-max). */
const SKEW_MS = 250;

/** RENEW_EVERY_MS is the SDK's renewal interval of these leases. */
const RENEW_EVERY_MS = (LEASE_TTL_MS - SKEW_MS) / 3;

/**
 * REMAINING_MS_MIN is the least proven validity a lease may show: renewed on time it never falls
 * below TTL − margin − one interval (about 9.8 s); below one interval (4.9 s) at least one renewal
 * round was not confirmed when due, which this test counts as a failed renewal.
 */
const REMAINING_MS_MIN = RENEW_EVERY_MS;

/** RENEWALS_POLL_MS is how often the last test asks the cluster whether every lease was renewed again. */
const RENEWALS_POLL_MS = 250;

/** WATCH_EVERY_MS is how often the watchdog looks at every lease; WATCH_SAMPLES_MAX bounds it (about 25 min). */
const WATCH_EVERY_MS = 500;
const WATCH_SAMPLES_MAX = 3000;

/** pkiRoot holds both CAs, every certificate, and the files the nodes and the harness read. */
const pkiRoot = mkdtempSync(join(tmpdir(), 'omnirelay-client-rotation-pki-'));

/** NodeFiles are the three files a node reads for both its peer port and its client ports. */
interface NodeFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** nodeFiles names the files node `id` is started with: they never move, their content rotates. */
function nodeFiles(id: string): NodeFiles {
  const dir = join(pkiRoot, 'nodes', id);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'node.crt'), key: join(dir, 'node.key') };
}

/** harnessFiles are what LocalCluster's own HTTPS calls (status, metrics) trust and present. */
const harnessFiles = {
  caFile: join(pkiRoot, 'harness', 'ca.crt'),
  certFile: join(pkiRoot, 'harness', 'client.crt'),
  keyFile: join(pkiRoot, 'harness', 'client.key'),
};

/** pem reads a file under pkiRoot. */
function pem(...path: string[]): Buffer {
  return readFileSync(join(pkiRoot, ...path));
}

const oldCa = (): Buffer => pem('ca-old', 'ca.crt');
const newCa = (): Buffer => pem('ca-new', 'ca.crt');
const bothCas = (): Buffer => Buffer.concat([oldCa(), newCa()]);

/** installPair puts `<dir>/<base>.{crt,key}` in place of `cert` and `key`: key first, then certificate, each atomically. */
function installPair(target: { cert: string; key: string }, dir: string, base: string): void {
  replaceAtomically(target.key, pem(dir, `${base}.key`), 0o600);
  replaceAtomically(target.cert, pem(dir, `${base}.crt`));
}

/** serials maps `<generation>/<id>` to the serial number of that node certificate. */
const serials = new Map<string, string>();

/**
 * issuePki issues, as `omnirelay cert issue` would: the old and the new CA; per node a first and
 * a second certificate of the old CA (gen1, gen2) and one of the new CA (gen3); the holder's
 * client certificate from each CA (roles mesh.read and mesh.operate, every scope, so it keeps
 * working once RBAC enforces them) and the harness's (mesh.admin). Nodes start with gen1 and the
 * old CA, the harness with its old-CA certificate.
 */
async function issuePki(): Promise<void> {
  await issueCa({ outDir: join(pkiRoot, 'ca-old'), clusterId: 'omnirelay' });
  await issueCa({ outDir: join(pkiRoot, 'ca-new'), clusterId: 'omnirelay' });
  const generations = [
    ['gen1', 'ca-old'],
    ['gen2', 'ca-old'],
    ['gen3', 'ca-new'],
  ] as const;
  for (const id of IDS) {
    for (const [generation, ca] of generations) {
      const issued = await issueNode({
        caDir: join(pkiRoot, ca),
        outDir: join(pkiRoot, generation),
        id,
        clusterId: 'omnirelay',
      });
      serials.set(`${generation}/${id}`, issued.serialNumber);
    }
    mkdirSync(join(pkiRoot, 'nodes', id), { recursive: true });
    writeFileSync(nodeFiles(id).ca, oldCa());
    installPair(nodeFiles(id), 'gen1', id);
  }
  for (const ca of ['ca-old', 'ca-new']) {
    const common = {
      caDir: join(pkiRoot, ca),
      outDir: join(pkiRoot, `clients-${ca}`),
      clusterId: 'omnirelay',
    };
    await issueClient({
      ...common,
      name: 'holder',
      roles: ['mesh.read', 'mesh.operate'],
      scopePrefixes: ['*'],
    });
    await issueClient({ ...common, name: 'harness', roles: ['mesh.admin'], scopePrefixes: ['*'] });
  }
  mkdirSync(join(pkiRoot, 'harness'), { recursive: true });
  writeFileSync(harnessFiles.caFile, oldCa());
  installPair({ cert: harnessFiles.certFile, key: harnessFiles.keyFile }, 'clients-ca-old', 'harness');
}

/** holderTls is the SDK TLS option of a client trusting `ca` and presenting the holder certificate of `clientCa`. */
function holderTls(ca: Buffer, clientCa: 'ca-old' | 'ca-new'): TlsOptions {
  return {
    ca,
    cert: pem(`clients-${clientCa}`, 'holder.crt'),
    key: pem(`clients-${clientCa}`, 'holder.key'),
  };
}

/**
 * LeaseWatchdog counts what a rotation must never cause: a lease lost (its signal aborted) and a
 * renewal not confirmed when due (a lease whose proven validity fell below REMAINING_MS_MIN).
 */
interface LeaseWatchdog {
  readonly lost: string[];
  readonly late: string[];
  stop(): void;
}

/** watchLeases starts a LeaseWatchdog over `leases`, sampling every WATCH_EVERY_MS, at most WATCH_SAMPLES_MAX times. */
function watchLeases(leases: readonly Lease[]): LeaseWatchdog {
  const lost: string[] = [];
  const late: string[] = [];
  const onAbort = new Map<Lease, () => void>();
  for (const lease of leases) {
    const listener = (): void => {
      const reason: unknown = lease.signal.reason;
      lost.push(`${lease.scope}: ${reason instanceof Error ? reason.message : String(reason)}`);
    };
    lease.signal.addEventListener('abort', listener, { once: true });
    onAbort.set(lease, listener);
  }
  let samples = 0;
  const timer = setInterval(() => {
    if (++samples >= WATCH_SAMPLES_MAX) clearInterval(timer);
    for (const lease of leases) {
      const remainingMs = lease.remainingMs();
      if (lease.endedReason === undefined && remainingMs < REMAINING_MS_MIN) {
        late.push(`${lease.scope}: ${Math.round(remainingMs)} ms left at ${new Date().toISOString()}`);
      }
    }
  }, WATCH_EVERY_MS);
  return {
    lost,
    late,
    stop: () => {
      clearInterval(timer);
      for (const [lease, listener] of onAbort) lease.signal.removeEventListener('abort', listener);
    },
  };
}

/** labelledSample reads the sample `series` (a name with its labels) from a metrics text (0 when absent). */
function labelledSample(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

/** metricsOf reads GET /metrics from a node's HTTPS port with the harness's files (LocalCluster parses only JSON). */
function metricsOf(address: string): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host,
        port: Number(port),
        path: '/metrics',
        ca: readFileSync(harnessFiles.caFile),
        cert: readFileSync(harnessFiles.certFile),
        key: readFileSync(harnessFiles.keyFile),
        agent: false,
        timeout: 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET /metrics from ${address} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Issue 16, "Rotation": the runbook docs/runbooks/rotate-client-certificates.md, executed on a
 * 3-node cluster of real processes with peer mTLS and client TLS that requires client
 * certificates (one certificate per node for both), while an SDK client holds 100 leases and
 * renews them with its keep-alive. First new node certificates from the same CA, then a new CA
 * through a bundle trusting both. No lease may be lost, no renewal fail, no fence change.
 */
describe('rotating the client-port certificates while a client holds 100 leases', () => {
  const cluster = useLocalCluster('client-cert-rotation', {
    size: 3,
    extraArgs: FLAGS,
    beforeStart: issuePki,
    nodeEnv: (id) => {
      const files = nodeFiles(id);
      return {
        OMNIRELAY_PEER_TLS_CA: files.ca,
        OMNIRELAY_PEER_TLS_CERT: files.cert,
        OMNIRELAY_PEER_TLS_KEY: files.key,
        OMNIRELAY_CLIENT_TLS_CA: files.ca,
        OMNIRELAY_CLIENT_TLS_CERT: files.cert,
        OMNIRELAY_CLIENT_TLS_KEY: files.key,
      };
    },
    clientTls: harnessFiles,
  });

  /** holder is the client that holds the leases from the first test to the last. */
  let holder: OmniRelayClient | undefined;
  let leases: Lease[] = [];
  /** fences are each lease's fence when it was granted. */
  const fences = new Map<string, bigint>();
  let watchdog: LeaseWatchdog | undefined;
  /** streamFailures counts the SDK's KeepAlive streams that failed (each a round of renewals lost in flight). */
  let streamFailures: jest.SpyInstance | undefined;
  /** clients are the other SDK clients the tests create (each closed after the test). */
  const clients: OmniRelayClient[] = [];

  const endpoints = (): string[] => IDS.map((id) => cluster().node(id).grpcAddress);

  /** newClient creates an SDK client with `tls`, closed after the test. */
  function newClient(tls: TlsOptions): OmniRelayClient {
    const client = createClient({ endpoints: endpoints(), tls, callTimeoutMs: 5000 });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    await cluster().waitForLeader(30_000);
    await steadyViews(cluster(), IDS);
    streamFailures = jest.spyOn(
      KeepAlive.prototype as unknown as { onStreamError(stream: unknown, e: unknown): void },
      'onStreamError',
    );
    // The holder trusts both CAs from its start: the SDK reads its `tls` option once, so a process
    // that must keep its session (and its leases) through a CA rotation is given the new CA in its
    // trust before the rotation begins (runbook, part B step 1).
    holder = createClient({
      endpoints: endpoints(),
      tls: holderTls(bothCas(), 'ca-old'),
      candidateId: 'rotation-holder',
      callTimeoutMs: 10_000,
    });
    const h = holder;
    leases = [];
    for (let batch = 0; batch < LEASES; batch += 10) {
      const granted = await Promise.all(
        Array.from({ length: 10 }, (_, i) => h.acquire(`rot/${batch + i}`, { ttlMs: LEASE_TTL_MS })),
      );
      for (const lease of granted) {
        if (lease === null) throw new Error('a rotation scope was already held at the start');
        leases.push(lease);
        fences.set(lease.scope, lease.fence);
      }
    }
    watchdog = watchLeases(leases);
  }, 120_000);

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(() => {
    watchdog?.stop();
    holder?.close();
    streamFailures?.mockRestore();
    rmSync(pkiRoot, { recursive: true, force: true });
  });

  /**
   * served handshakes with the gRPC and the HTTP port of every node, trusting both CAs and
   * presenting the holder certificate of `clientCa`, and returns `<id> <port> <serial> <outcome>`.
   */
  async function served(clientCa: 'ca-old' | 'ca-new'): Promise<string[]> {
    const cert = pem(`clients-${clientCa}`, 'holder.crt');
    const key = pem(`clients-${clientCa}`, 'holder.key');
    const rows = await Promise.all(
      IDS.flatMap((id) => {
        const node = cluster().node(id);
        return [
          ['grpc', node.grpcAddress],
          ['http', node.clientAddress],
        ].map(async ([port, address]) => {
          const seen = await handshake(address!, bothCas(), cert, key);
          return `${id} ${port} ${seen.serial} ${seen.outcome}`;
        });
      }),
    );
    return rows;
  }

  /** serving is what `served` returns when every node serves `generation` and accepts the client. */
  function serving(generation: string, outcome = 'accepted'): string[] {
    return IDS.flatMap((id) =>
      ['grpc', 'http'].map((port) => `${id} ${port} ${serials.get(`${generation}/${id}`)!} ${outcome}`),
    );
  }

  /**
   * peerServed handshakes with the peer port of every node, trusting both CAs and presenting
   * `generation`'s node certificate of n1, and returns `<id> peer <serial> <outcome>`.
   */
  async function peerServed(generation: string): Promise<string[]> {
    const seen = await Promise.all(
      IDS.map((id) =>
        handshake(
          cluster().node(id).peerAddress,
          bothCas(),
          pem(generation, 'n1.crt'),
          pem(generation, 'n1.key'),
        ),
      ),
    );
    return seen.map((s, i) => `${IDS[i]} peer ${s.serial} ${s.outcome}`);
  }

  /** peerServing is what `peerServed` returns when every peer port serves `generation` and accepts the client. */
  function peerServing(generation: string): string[] {
    return IDS.map((id) => `${id} peer ${serials.get(`${generation}/${id}`)!} accepted`);
  }

  /** refusedEverywhere says whether every row of `rows` ends in a refusal. */
  function refusedEverywhere(rows: readonly string[]): boolean {
    return rows.every((row) => row.endsWith(' refused'));
  }

  /** same says whether two lists of rows are equal. */
  function same(a: readonly string[], b: readonly string[]): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  /**
   * everyNode changes each node's files with `install`, then waits until every node has re-read
   * them on each port: until `reread`, what the client and peer ports show once they have, holds.
   */
  async function everyNode(
    install: (files: NodeFiles, id: string) => void,
    what: string,
    reread: () => Promise<boolean>,
  ): Promise<void> {
    for (const id of IDS) install(nodeFiles(id), id);
    await pollUntil(
      `every node to re-read its files: ${what}`,
      async () => ((await reread()) ? true : undefined),
      REREAD_WAIT_MS,
      REREAD_POLL_MS,
    );
  }

  /** harnessUses points the harness's own calls at `ca` (and the harness certificate of `clientCa`). */
  function harnessUses(ca: Buffer, clientCa: 'ca-old' | 'ca-new'): void {
    replaceAtomically(harnessFiles.caFile, ca);
    installPair({ cert: harnessFiles.certFile, key: harnessFiles.keyFile }, `clients-${clientCa}`, 'harness');
    cluster().reloadClientTls();
  }

  /** acquiresAfterRotation checks a client that connects now with `tls` is granted a fresh scope, then resigns it. */
  async function acquiresAfterRotation(tls: TlsOptions, scope: string): Promise<void> {
    const client = newClient(tls);
    const lease = await client.acquire(scope, { ttlMs: LEASE_TTL_MS });
    expect(lease).not.toBeNull();
    await lease!.resign();
  }

  /** refusedNow checks a client that connects now with `tls` cannot reach any node (UNAVAILABLE). */
  async function refusedNow(tls: TlsOptions): Promise<void> {
    const client = createClient({ endpoints: endpoints(), tls, callTimeoutMs: 3000 });
    clients.push(client);
    const outcome = await client.status().then(
      () => 'answered',
      (e: unknown) => (isOmniRelayError(e) ? e.code : String(e)),
    );
    expect(outcome).toBe('UNAVAILABLE');
  }

  /**
   * restartFollower kills a follower with SIGKILL and starts it again: its peers dial it and it
   * dials them with the files in place now; it must catch up under the same leader and term. The
   * holder then asks every node for its status: its channel to the restarted follower makes a new
   * connection with the holder's certificate, which `holderAccepted` says the node must accept
   * (the other nodes answer on the connections the holder opened before).
   */
  async function restartFollower(holderAccepted: boolean): Promise<void> {
    const [before] = await steadyViews(cluster(), IDS);
    const [term, leader] = /term (\d+) leader (\w+)/.exec(before!)!.slice(1) as [string, string];
    const follower = IDS.filter((id) => id !== leader).pop()!;
    await cluster().kill(follower);
    await new Promise((r) => setTimeout(r, 500));
    cluster().start(follower);
    const after = await steadyViews(cluster(), IDS);
    expect(after.map((v) => /term (\d+) leader (\w+)/.exec(v)?.slice(1))).toEqual(
      IDS.map(() => [term, leader]),
    );
    const statuses = await holder!.statusAll();
    const restarted = cluster().node(follower).grpcAddress;
    expect(statuses.map((s) => `${s.address} ${'error' in s ? s.error.code : 'answered'}`).sort()).toEqual(
      endpoints()
        .map((a) => `${a} ${a === restarted && !holderAccepted ? 'UNAVAILABLE' : 'answered'}`)
        .sort(),
    );
  }

  /** nothingDropped checks that so far no lease was lost, no renewal late and no KeepAlive stream failed. */
  function nothingDropped(): void {
    expect(watchdog!.lost).toEqual([]);
    expect(watchdog!.late).toEqual([]);
    expect(streamFailures!.mock.calls.length).toBe(0);
  }

  it('serves new node certificates of the same CA to every new connection (runbook part A)', async () => {
    expect(await served('ca-old')).toEqual(serving('gen1'));
    await everyNode(
      (files, id) => installPair(files, 'gen2', id),
      'gen2 served on every port',
      async () =>
        same(await served('ca-old'), serving('gen2')) && same(await peerServed('gen2'), peerServing('gen2')),
    );
    expect(await served('ca-old')).toEqual(serving('gen2'));
    // A client that connects after the rotation is served the new certificate and works.
    await acquiresAfterRotation(holderTls(oldCa(), 'ca-old'), 'rot-check/same-ca');
    await restartFollower(true);
    nothingDropped();
  });

  it('moves to a new CA through a bundle trusting both, then drops the old CA (runbook part B)', async () => {
    // 1. Trust both CAs: a client certificate of the new CA is accepted from now on.
    await refusedNow(holderTls(bothCas(), 'ca-new'));
    await everyNode(
      (files) => replaceAtomically(files.ca, bothCas()),
      'the new CA trusted on every port',
      async () =>
        same(await served('ca-new'), serving('gen2')) && same(await peerServed('gen3'), peerServing('gen2')),
    );
    harnessUses(bothCas(), 'ca-old');
    expect(await served('ca-new')).toEqual(serving('gen2'));
    await acquiresAfterRotation(holderTls(bothCas(), 'ca-new'), 'rot-check/trust-both');
    nothingDropped();

    // 2. Node certificates of the new CA: a client that trusts only the old CA can no longer connect.
    await everyNode(
      (files, id) => installPair(files, 'gen3', id),
      'gen3 served on every port',
      async () =>
        same(await served('ca-old'), serving('gen3')) && same(await peerServed('gen3'), peerServing('gen3')),
    );
    expect(await served('ca-old')).toEqual(serving('gen3'));
    await refusedNow(holderTls(oldCa(), 'ca-old'));
    await acquiresAfterRotation(holderTls(bothCas(), 'ca-old'), 'rot-check/new-node-certs');
    await restartFollower(true);
    nothingDropped();

    // 3. Client certificates of the new CA (a new client; the harness too).
    harnessUses(bothCas(), 'ca-new');
    await acquiresAfterRotation(holderTls(newCa(), 'ca-new'), 'rot-check/new-client-cert');
    nothingDropped();

    // 4. Drop the old CA: a client certificate it signed is refused on every new connection,
    // while the connection the holder opened before keeps renewing its leases.
    await everyNode(
      (files) => replaceAtomically(files.ca, newCa()),
      'the old CA dropped on every port',
      async () => refusedEverywhere(await served('ca-old')) && refusedEverywhere(await peerServed('gen2')),
    );
    harnessUses(newCa(), 'ca-new');
    expect(await served('ca-new')).toEqual(serving('gen3'));
    expect((await served('ca-old')).map((row) => row.split(' ').pop())).toEqual(
      serving('gen3', 'refused').map(() => 'refused'),
    );
    await refusedNow(holderTls(newCa(), 'ca-old'));
    await acquiresAfterRotation(holderTls(newCa(), 'ca-new'), 'rot-check/old-ca-dropped');
    // The holder's certificate is of the old CA: a node it must connect to anew refuses it.
    await restartFollower(false);
    nothingDropped();
  });

  it('kept every one of the 100 leases with its fence: none lost, no renewal failed or late', async () => {
    // One more renewal round after the last step: the cluster recorded a renewal of every lease since.
    const lastStepAt = Date.now();
    const reader = newClient(holderTls(newCa(), 'ca-new'));
    const held = await pollUntil(
      'a renewal of every lease after the last step',
      async () => {
        const all = await reader.allLeaders({ prefix: 'rot/' });
        return all.length === LEASES && all.every((l) => l.lastRenewedAtMs > lastStepAt) ? all : undefined;
      },
      3 * RENEW_EVERY_MS,
      RENEWALS_POLL_MS,
    );
    const now = Date.now();
    nothingDropped();
    expect(leases).toHaveLength(LEASES);
    expect(leases.filter((l) => !l.isValid()).map((l) => l.scope)).toEqual([]);

    // The cluster agrees: every scope is held by the holder's session with the fence of its grant,
    // and was renewed within the last two intervals.
    expect(held.map((l) => `${l.scope} ${l.fence} ${l.sessionId}`).sort()).toEqual(
      [...fences].map(([scope, fence]) => `${scope} ${fence} ${holder!.sessionId}`).sort(),
    );
    expect(held.filter((l) => now - l.lastRenewedAtMs > 2 * RENEW_EVERY_MS).map((l) => l.scope)).toEqual([]);

    // And no node expired a lease or refused a renewal for its fence.
    const texts = await Promise.all(IDS.map((id) => metricsOf(cluster().node(id).clientAddress)));
    const counts = texts.map((text) => [
      labelledSample(text, 'mesh_leadership_transitions_total{reason="expired"}'),
      labelledSample(text, 'mesh_leadership_split_brain_total{kind="renew"}'),
    ]);
    expect(counts).toEqual(IDS.map(() => [0, 0]));
  });
});
