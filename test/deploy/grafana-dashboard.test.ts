import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dashboard, Panel } from '@grafana/schema';
import { SortOrder, TooltipDisplayMode, VizOrientation } from '@grafana/schema';
import type { Options as TimeSeriesOptions } from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import {
  dashboardJson,
  infinityTargets,
  omnirelayDashboard,
  prometheusTargets,
} from '../../deploy/grafana/omnirelay-dashboard';
import { REPO_ROOT } from './prometheus-tools';

/** DASHBOARD_JSON is the file Grafana and the Helm chart load. */
const DASHBOARD_JSON = join(REPO_ROOT, 'deploy', 'grafana', 'omnirelay-dashboard.json');

/** PRETTIER_BIN is the repository's Prettier, which formats every JSON file it holds. */
const PRETTIER_BIN = join(REPO_ROOT, 'node_modules', 'prettier', 'bin', 'prettier.cjs');

/**
 * MISSPELLED are objects with a misspelled key at each level the schema types: `tsc -p
 * tsconfig.check.json` fails if any of them stops being an error (the @ts-expect-error then has
 * nothing to expect), so the dashboard's typing is proven to refuse unknown keys.
 */
export const MISSPELLED: unknown[] = [
  // @ts-expect-error: `titel` is not a key of Dashboard.
  { schemaVersion: 42, titel: 'x' } satisfies Dashboard,
  // @ts-expect-error: `gridPoss` is not a key of Panel.
  { type: 'timeseries', gridPoss: { x: 0, y: 0, w: 1, h: 1 } } satisfies Panel,
  {
    legend: { showLegend: true, placement: 'bottom', calcs: [] },
    tooltip: { mode: TooltipDisplayMode.Single, sort: SortOrder.None },
    // @ts-expect-error: `orientaton` is not a time series option.
    orientaton: VizOrientation.Auto,
  } satisfies TimeSeriesOptions,
];

describe('the Grafana dashboard (deploy/grafana/omnirelay-dashboard.json)', () => {
  it('is exactly what the typed source generates, as Prettier formats it (UPDATE_GOLDEN=1 rewrites it)', () => {
    // Prettier runs as the CLI: its module loads plugins with dynamic imports Jest cannot run.
    const prettier = spawnSync(process.execPath, [PRETTIER_BIN, '--stdin-filepath', DASHBOARD_JSON], {
      input: dashboardJson(),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(prettier.stderr).toBe('');
    const generated = prettier.stdout;
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(DASHBOARD_JSON, generated);
    expect(readFileSync(DASHBOARD_JSON, 'utf8')).toBe(generated);
  });

  it('has the panels issue 19 lists', () => {
    const titles = (omnirelayDashboard.panels ?? []).map((p) => p.title);
    for (const title of [
      'Members up',
      'Raft leader',
      'Raft term',
      'Commit and applied index',
      'Follower lag',
      'Current holders',
      'Top scopes by holder changes',
      'Holder changes per minute',
      'Raft leader changes',
      'Raft election duration',
      'Proposals by result',
      'Failed proposals',
      'fsync latency',
      'Commit latency',
      'Leases, scopes and waiting candidates',
      'Watchers',
      'Lease expiries vs resignations',
      'Event-loop lag',
      'Auth denials',
    ]) {
      expect(titles).toContain(title);
    }
  });

  it('gives every panel a unique id and a place on the 24-column grid', () => {
    const panels = omnirelayDashboard.panels ?? [];
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      const grid = p.gridPos;
      expect(grid).toBeDefined();
      expect((grid?.x ?? 0) + (grid?.w ?? 0)).toBeLessThanOrEqual(24);
    }
  });

  it('selects the job in every Prometheus query and never a scope label', () => {
    const targets = prometheusTargets();
    expect(targets.length).toBeGreaterThan(25);
    for (const { panel, expr } of targets) {
      expect([panel, expr.includes('job=~"$job"')]).toEqual([panel, true]);
      expect([panel, /\b(scope|candidate|candidateId)\b/.test(expr)]).toEqual([panel, false]);
    }
  });

  it('reads the holders from /control/leaders', () => {
    const targets = infinityTargets();
    expect(targets.map((t) => t.panel).sort()).toEqual(['Current holders', 'Top scopes by holder changes']);
    for (const { query } of targets) {
      expect(query.url.startsWith('/control/leaders')).toBe(true);
      expect(query.root_selector).toBe('holders');
    }
  });
});
