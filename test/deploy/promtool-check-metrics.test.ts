import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SingleNode } from '../../packages/server/test/support/single-node';
import { startSingleNode } from '../../packages/server/test/support/single-node';
import { REPO_ROOT, promtool } from './prometheus-tools';

/**
 * DELIBERATE_FINDINGS are the metric names `promtool check metrics` may report: the seeds fix
 * mesh_leadership_election_duration_ms, in milliseconds (docs/metrics.md, "Deliberate exception").
 */
const DELIBERATE_FINDINGS = ['mesh_leadership_election_duration_ms'];

/** METRICS_DOC is the metrics reference that must name every series. */
const METRICS_DOC = join(REPO_ROOT, 'docs', 'metrics.md');

describe("a node's /metrics", () => {
  jest.setTimeout(60_000);
  let node: SingleNode;
  let text: string;

  beforeAll(async () => {
    node = await startSingleNode();
    const server = node.server;
    // Some of everything, so histograms and labelled counters have samples.
    for (let i = 0; i < 3; i++) {
      const lease = await server.service.acquire({
        scope: 'checked',
        candidateId: `c${i}`,
        leaseTtlMs: 60_000,
      });
      if (!lease.granted) throw new Error('the acquire was not granted');
      await server.service.resign('checked', lease.lease.fenceToken);
    }
    const base = `http://${server.config.clientAddress}`;
    expect((await fetch(`${base}/status`)).status).toBe(200);
    expect((await fetch(`${base}/no-such-route`)).status).toBe(404);
    text = await (await fetch(`${base}/metrics`)).text();
  });

  afterAll(async () => {
    await node.stop();
  });

  it('passes promtool check metrics except for the deliberate names', () => {
    const run = promtool(['check', 'metrics'], text);
    const findings = `${run.stdout}${run.stderr}`
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.split(' ')[0]);
    expect([...new Set(findings)].sort()).toEqual([...DELIBERATE_FINDINGS].sort());
  });

  it('has every duration in seconds, but for the deliberate names', () => {
    const names = seriesNames(text).filter((n) => /_ms(_|$)|millis/.test(n));
    expect(names).toEqual(DELIBERATE_FINDINGS);
  });

  it('is listed series by series in the metrics reference', () => {
    const doc = readFileSync(METRICS_DOC, 'utf8');
    const own = seriesNames(text).filter((n) => !n.startsWith('process_') && !n.startsWith('nodejs_'));
    expect(own.length).toBeGreaterThan(40);
    expect(own.filter((name) => !doc.includes(`| \`${name}\` |`))).toEqual([]);
    for (const name of DELIBERATE_FINDINGS) expect(doc).toContain(`**Deliberate exception:** \`${name}\``);
  });
});

/** seriesNames lists the metric names of a text exposition, from its TYPE lines. */
function seriesNames(exposition: string): string[] {
  return exposition
    .split('\n')
    .filter((l) => l.startsWith('# TYPE '))
    .map((l) => l.split(' ')[2] ?? '');
}
