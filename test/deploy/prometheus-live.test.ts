import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { LocalCluster } from '@omnirelay/server';
import { discardCluster } from '../../packages/server/test/cluster/cluster-helpers';
import { infinityTargets, prometheusTargets } from '../../deploy/grafana/omnirelay-dashboard';
import { RULES_FILE } from './prometheus-tools';
import type { PromAlert } from './prometheus-server';
import { PrometheusServer } from './prometheus-server';

/**
 * Issue 19, "a live test": Debian's Prometheus, started here on loopback with the real rules file,
 * scrapes a real 3-node cluster every second. Every query of the dashboard must answer, and
 * killing the Raft leader must make OmniRelayMemberDown fire for it (its `for: 30s` is the real
 * one), while the quorum alerts stay quiet.
 */

/** JOB is the scrape job name; the rules select `job=~".*omnirelay.*"`. */
const JOB = 'omnirelay-live';

/** INTERVAL_SECONDS is the scrape and rule evaluation interval: short, so the test sees alerts in seconds. */
const INTERVAL_SECONDS = 1;

/** RATE_INTERVAL stands in for Grafana's $__rate_interval: many 1 s scrapes. */
const RATE_INTERVAL = '1m';

/** NODE_FLAGS are generous Raft timings for 2 shared CPUs. */
const NODE_FLAGS = [
  '--election-timeout-ms',
  '1000',
  '--heartbeat-ms',
  '100',
  '--stall-threshold-ms',
  '10000',
];

/** dashboardExpr turns a dashboard query into PromQL the way Grafana would for this cluster. */
function dashboardExpr(expr: string): string {
  return expr.replaceAll('$job', JOB).replaceAll('$__rate_interval', RATE_INTERVAL);
}

describe('a real Prometheus with the alert rules, scraping a real 3-node cluster', () => {
  jest.setTimeout(120_000);
  const folder = mkdtempSync(join(tmpdir(), 'omnirelay-prometheus-live-'));
  let cluster: LocalCluster;
  let prometheus: PrometheusServer | undefined;
  let leader: string;

  beforeAll(async () => {
    cluster = await LocalCluster.create({
      size: 3,
      dataRoot: join(folder, 'cluster'),
      basePort: 0,
      logLevel: 'info',
      extraArgs: NODE_FLAGS,
    });
    cluster.startAll();
    leader = await cluster.waitForLeader(30_000);
    prometheus = await PrometheusServer.start({
      folder,
      jobName: JOB,
      targets: cluster.nodes.map((n) => n.clientAddress),
      ruleFiles: [RULES_FILE],
      intervalSeconds: INTERVAL_SECONDS,
    });
    // Traffic for the panels: leases, a vacancy filled again (a scope election), a 404.
    for (let i = 0; i < 3; i++) {
      const res = await cluster.post(leader, '/leadership/acquire', {
        scope: `live/${i}`,
        candidateId: 'worker-a',
        leaseTtlMs: 120_000,
      });
      expect(res.status).toBe(200);
    }
    const first = await cluster.post(leader, '/leadership/acquire', {
      scope: 'live/handover',
      candidateId: 'worker-a',
      leaseTtlMs: 120_000,
    });
    const fence = (first.body as { lease: { fenceToken: string } }).lease.fenceToken;
    expect(
      (await cluster.post(leader, '/leadership/resign', { scope: 'live/handover', fenceToken: fence }))
        .status,
    ).toBe(200);
    const second = await cluster.post(leader, '/leadership/acquire', {
      scope: 'live/handover',
      candidateId: 'worker-b',
      leaseTtlMs: 120_000,
    });
    expect(second.status).toBe(200);
    expect((await cluster.get(leader, '/no-such-route')).status).toBe(404);
  });

  afterAll(async () => {
    await prometheus?.stop();
    if (cluster !== undefined) await discardCluster(cluster);
    rmSync(folder, { recursive: true, force: true });
  });

  function server(): PrometheusServer {
    if (prometheus === undefined) throw new Error('prometheus did not start');
    return prometheus;
  }

  it('loads every alerting rule of omnirelay-rules.yaml', async () => {
    const doc = parse(readFileSync(RULES_FILE, 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string }> }>;
    };
    const expected = doc.groups.flatMap((g) => g.rules.map((r) => r.alert)).sort();
    const loaded = await server().api<{ groups: Array<{ rules: Array<{ name: string; health: string }> }> }>(
      '/api/v1/rules?type=alert',
    );
    const rules = loaded.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name).sort()).toEqual(expected);
  });

  it('answers every Prometheus query of the dashboard with a non-empty result', async () => {
    const p = server();
    await p.waitFor('all 3 members scraped', 30_000, async () => {
      const up = await p.query(`sum(up{job="${JOB}"})`);
      return up[0]?.value[1] === '3' ? true : undefined;
    });
    const targets = prometheusTargets();
    const empty = new Map<string, string>(targets.map((t) => [`${t.panel}: ${t.expr}`, t.expr]));
    // Rates need two scrapes in their window: poll, bounded, until every query answers.
    await p
      .waitFor('every dashboard query to answer', 30_000, async () => {
        for (const [key, expr] of empty) {
          if ((await p.query(dashboardExpr(expr))).length > 0) empty.delete(key);
        }
        return empty.size === 0 ? true : undefined;
      })
      .catch((e: unknown) => {
        throw new Error(`${String(e)}; still empty: ${[...empty.keys()].join(' | ')}`);
      });
    expect([...empty.keys()]).toEqual([]);
  });

  it('finds the holders the dashboard tables show at their URL', async () => {
    for (const { panel, query } of infinityTargets()) {
      const res = await cluster.get(leader, query.url);
      expect([panel, res.status]).toEqual([panel, 200]);
      const rows = (res.body as Record<string, unknown>)[query.root_selector] as Array<
        Record<string, unknown>
      >;
      expect(rows.length).toBeGreaterThanOrEqual(4);
      for (const row of rows) {
        for (const column of query.columns)
          expect([panel, column.selector, column.selector in row]).toEqual([panel, column.selector, true]);
      }
    }
  });

  it('fires OmniRelayMemberDown for a killed leader, and no quorum alert while two members are up', async () => {
    const p = server();
    const killed = cluster.node(leader).clientAddress;
    await cluster.kill(leader);
    const next = await cluster.waitForLeader(30_000);
    expect(next).not.toBe(leader);
    const isMine = (a: PromAlert, name: string): boolean =>
      a.labels['alertname'] === name && a.labels['job'] === JOB;
    // `for: 30s` after the first failed scrape, evaluated every second: bounded at 60 s.
    const firing = await p.waitFor('OmniRelayMemberDown to fire for the killed leader', 60_000, async () => {
      const alerts = await p.alerts();
      return alerts.find(
        (a) => isMine(a, 'OmniRelayMemberDown') && a.labels['instance'] === killed && a.state === 'firing',
      );
    });
    expect(firing.labels['severity']).toBe('warning');
    const alerts = await p.alerts();
    for (const quiet of ['OmniRelayInsufficientMembers', 'OmniRelayNoLeader', 'OmniRelaySplitBrain']) {
      expect([quiet, alerts.some((a) => isMine(a, quiet))]).toEqual([quiet, false]);
    }
    // The election the kill caused is now in the election-duration panel as a number.
    const p99 = await p.query(
      dashboardExpr(
        'histogram_quantile(0.99, sum by (le) (rate(omnirelay_raft_election_duration_seconds_bucket{job=~"$job"}[5m])))',
      ),
    );
    expect(Number(p99[0]?.value[1])).toBeGreaterThan(0);
  });
});
