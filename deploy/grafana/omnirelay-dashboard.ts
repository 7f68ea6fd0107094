/**
 * The OmniRelay Control Plane dashboard, as typed source. omnirelay-dashboard.json (what Grafana
 * and the Helm chart load) is generated from it: `UPDATE_GOLDEN=1 npx jest
 * test/deploy/grafana-dashboard.test.ts` rewrites the JSON, and the test fails while the two
 * differ. Every object here is an object literal checked against Grafana's published schema
 * (@grafana/schema: Dashboard, Panel, RowPanel and each panel plugin's Options), so `tsc` refuses a
 * misspelled or unknown key; the queries are typed by PrometheusQuery and InfinityQuery below.
 *
 * Every Prometheus query selects `job=~"$job"` and reads only bounded series (docs/metrics.md).
 * The holders tables read `GET /control/leaders` through the Infinity data source: which scope is
 * held by whom is state, not a metric, and a per-scope series would be unbounded.
 */
import type {
  DataQuery,
  Dashboard,
  DataSourceRef,
  FieldConfigSource,
  Panel,
  RowPanel,
  VariableModel,
} from '@grafana/schema';
import {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueJustifyMode,
  BigValueTextMode,
  LegendDisplayMode,
  PercentChangeColorMode,
  SortOrder,
  TooltipDisplayMode,
  VariableHide,
  VizOrientation,
} from '@grafana/schema';
import type { Options as StatOptions } from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type { Options as TableOptions } from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type { Options as TimeSeriesOptions } from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

/** DASHBOARD_UID is the dashboard's stable uid: links and the Helm chart's ConfigMap name it. */
export const DASHBOARD_UID = 'omnirelay-control-plane';

/** JOB_SELECTOR selects the scrape job of the nodes (the `job` variable); every query uses it. */
const JOB_SELECTOR = 'job=~"$job"';

/** PrometheusQuery is a Prometheus data source query (the fields this dashboard sets). */
export interface PrometheusQuery extends DataQuery {
  readonly expr: string;
  readonly legendFormat?: string;
  readonly instant?: boolean;
  readonly range?: boolean;
  readonly format?: 'time_series' | 'table';
}

/** InfinityColumn is one column the Infinity data source reads from each JSON row. */
export interface InfinityColumn {
  readonly selector: string;
  readonly text: string;
  readonly type: 'string' | 'number' | 'timestamp_epoch';
}

/**
 * InfinityQuery is a query of the Infinity data source (yesoreyeram-infinity-datasource): a GET of
 * `url`, relative to the data source's base URL (a node's client port, or the client Service), whose
 * JSON array at `root_selector` becomes a table of `columns`.
 */
export interface InfinityQuery extends DataQuery {
  readonly type: 'json';
  readonly source: 'url';
  readonly parser: 'backend';
  readonly format: 'table';
  readonly url: string;
  readonly url_options: { readonly method: 'GET' };
  readonly root_selector: string;
  readonly columns: readonly InfinityColumn[];
}

const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
const INFINITY: DataSourceRef = { type: 'yesoreyeram-infinity-datasource', uid: '${infinity}' };

/** PANEL_HEIGHT and the widths lay the panels out on Grafana's 24-column grid. */
const PANEL_HEIGHT = 8;
const GRID_WIDTH = 24;

/** PanelSpec is a panel before layout: its width on the grid, the rest as Grafana reads it. */
interface PanelSpec {
  readonly width: number;
  readonly panel: Panel;
}

function prom(refId: string, expr: string, legendFormat: string): PrometheusQuery {
  return { refId, datasource: PROMETHEUS, expr, legendFormat, range: true };
}

/**
 * medianAndP99 are the p50 and p99 queries of histogram `name` (its `_bucket` series summed by
 * `by` and `le`), legends prefixed with `legendPrefix`.
 */
function medianAndP99(name: string, by: string, legendPrefix: string): PrometheusQuery[] {
  const grouping = by === '' ? 'le' : `${by}, le`;
  return [0.5, 0.99].map((q, i) =>
    prom(
      String.fromCharCode(65 + i),
      `histogram_quantile(${q}, sum by (${grouping}) (rate(${name}_bucket{${JOB_SELECTOR}}[$__rate_interval])))`,
      `${legendPrefix}${q === 0.5 ? 'p50' : 'p99'}`,
    ),
  );
}

function fieldConfig(unit: string): FieldConfigSource {
  return { defaults: { unit }, overrides: [] };
}

function timeseries(
  title: string,
  description: string,
  unit: string,
  targets: PrometheusQuery[],
  width = 8,
): PanelSpec {
  const options: TimeSeriesOptions = {
    legend: { showLegend: true, displayMode: LegendDisplayMode.List, placement: 'bottom', calcs: [] },
    tooltip: { mode: TooltipDisplayMode.Multi, sort: SortOrder.Descending },
  };
  return {
    width,
    panel: {
      type: 'timeseries',
      title,
      description,
      datasource: PROMETHEUS,
      targets: targets.map((t) => ({ ...t })),
      fieldConfig: fieldConfig(unit),
      options: { ...options },
    },
  };
}

function stat(
  title: string,
  description: string,
  unit: string,
  target: PrometheusQuery,
  textMode: BigValueTextMode = BigValueTextMode.Value,
): PanelSpec {
  const options: StatOptions = {
    reduceOptions: { calcs: ['lastNotNull'], values: false },
    orientation: VizOrientation.Auto,
    textMode,
    colorMode: BigValueColorMode.Value,
    graphMode: BigValueGraphMode.None,
    justifyMode: BigValueJustifyMode.Auto,
    percentChangeColorMode: PercentChangeColorMode.Standard,
    showPercentChange: false,
    wideLayout: true,
  };
  return {
    width: 6,
    panel: {
      type: 'stat',
      title,
      description,
      datasource: PROMETHEUS,
      targets: [{ ...target }],
      fieldConfig: fieldConfig(unit),
      options: { ...options },
    },
  };
}

/** HOLDER_COLUMNS are the columns of the holders tables, read from /control/leaders. */
const HOLDER_COLUMNS: readonly InfinityColumn[] = [
  { selector: 'scope', text: 'Scope', type: 'string' },
  { selector: 'leaderId', text: 'Holder', type: 'string' },
  { selector: 'fenceToken', text: 'Fence', type: 'string' },
  { selector: 'expiresAtMs', text: 'Expires', type: 'timestamp_epoch' },
  { selector: 'term', text: 'Holder changes', type: 'number' },
];

function holdersTable(title: string, description: string, sortBy: string, rowsMax: number): PanelSpec {
  const query: InfinityQuery = {
    refId: 'A',
    datasource: INFINITY,
    type: 'json',
    source: 'url',
    parser: 'backend',
    format: 'table',
    url: '/control/leaders?limit=1000',
    url_options: { method: 'GET' },
    root_selector: 'holders',
    columns: HOLDER_COLUMNS,
  };
  const options: TableOptions = {
    frameIndex: 0,
    showHeader: true,
    sortBy: [{ displayName: sortBy, desc: sortBy === 'Holder changes' }],
  };
  return {
    width: 12,
    panel: {
      type: 'table',
      title,
      description,
      datasource: INFINITY,
      targets: [{ ...query, columns: [...query.columns] }],
      fieldConfig: fieldConfig('none'),
      options: { ...options },
      transformations: [{ id: 'limit', options: { limitField: rowsMax } }],
    },
  };
}

/** SECTIONS are the dashboard's rows, in order, each with its panels. */
const SECTIONS: ReadonlyArray<{ readonly title: string; readonly panels: readonly PanelSpec[] }> = [
  {
    title: 'Cluster health',
    panels: [
      stat(
        'Members up',
        'Members Prometheus scrapes successfully (`up`); a majority is needed to commit.',
        'none',
        prom('A', `sum(up{${JOB_SELECTOR}})`, 'members up'),
      ),
      stat(
        'Raft leader',
        'The member that reports itself Raft leader.',
        'none',
        prom('A', `max by (instance) (omnirelay_raft_is_leader{${JOB_SELECTOR}}) == 1`, '{{instance}}'),
        BigValueTextMode.Name,
      ),
      stat(
        'Raft term',
        'The highest Raft term a member reports; it rises with every election.',
        'none',
        prom('A', `max(omnirelay_raft_term{${JOB_SELECTOR}})`, 'term'),
      ),
      stat(
        'Unreachable members',
        'Members that no other member has a connected peer stream to.',
        'none',
        prom(
          'A',
          `count(max by (peer) (omnirelay_raft_peer_connected{${JOB_SELECTOR}}) == 0) or vector(0)`,
          'unreachable',
        ),
      ),
      timeseries('Commit and applied index', 'Raft commit and applied index per member.', 'none', [
        prom('A', `omnirelay_raft_commit_index{${JOB_SELECTOR}}`, '{{instance}} commit'),
        prom('B', `omnirelay_raft_applied_index{${JOB_SELECTOR}}`, '{{instance}} applied'),
      ]),
      timeseries(
        'Follower lag',
        'On the leader, how many log entries each member is behind (OmniRelayFollowerLag above 1000).',
        'none',
        [prom('A', `max by (peer) (omnirelay_raft_peer_lag_entries{${JOB_SELECTOR}})`, '{{peer}}')],
      ),
      timeseries('Peer links', 'Connected outbound peer streams per member (1 connected).', 'none', [
        prom('A', `omnirelay_raft_peer_connected{${JOB_SELECTOR}}`, '{{instance}} → {{peer}}'),
      ]),
    ],
  },
  {
    title: 'Current holders',
    panels: [
      holdersTable(
        'Current holders',
        'Every held scope: holder, fence token, expiry and how often the scope changed holder (from GET /control/leaders).',
        'Scope',
        1000,
      ),
      holdersTable(
        'Top scopes by holder changes',
        'The held scopes that changed holder most often since they were created (the lease token term).',
        'Holder changes',
        10,
      ),
    ],
  },
  {
    title: 'Churn',
    panels: [
      timeseries(
        'Holder changes per minute',
        'Holder changes applied, by reason (the same on every replica: max across members).',
        'none',
        [
          prom(
            'A',
            `max by (reason) (rate(mesh_leadership_transitions_total{${JOB_SELECTOR}}[$__rate_interval])) * 60`,
            '{{reason}}',
          ),
        ],
      ),
      timeseries(
        'Most holder changes of one scope (5 min)',
        'The most holder changes any one scope had in the last 5 minutes (OmniRelayScopeHolderFlapping at 20).',
        'none',
        [prom('A', `max(omnirelay_scope_holder_changes_max{${JOB_SELECTOR}})`, 'one scope, 5 min')],
      ),
      timeseries(
        'Lease expiries vs resignations',
        'Leases that ran out (expired) against leases given back (resigned), per minute.',
        'none',
        [
          prom(
            'A',
            `max by (reason) (rate(mesh_leadership_transitions_total{${JOB_SELECTOR}, reason=~"expired|resigned"}[$__rate_interval])) * 60`,
            '{{reason}}',
          ),
        ],
      ),
    ],
  },
  {
    title: 'Elections',
    panels: [
      timeseries('Raft leader changes', 'Raft leader changes each member saw in the interval.', 'none', [
        prom(
          'A',
          `sum by (instance) (increase(omnirelay_raft_leader_changes_total{${JOB_SELECTOR}}[$__rate_interval]))`,
          '{{instance}}',
        ),
      ]),
      timeseries(
        'Raft election duration',
        'Time members spent without a Raft leader after losing one (p50, p99 over the interval).',
        's',
        medianAndP99('omnirelay_raft_election_duration_seconds', '', ''),
      ),
      timeseries(
        'Scope vacancy',
        'How long a scope stayed without a holder before it was granted again (p99, in ms as the seeds fix it).',
        'ms',
        [
          prom(
            'A',
            `histogram_quantile(0.99, max by (le) (rate(mesh_leadership_election_duration_ms_bucket{${JOB_SELECTOR}}[$__rate_interval])))`,
            'vacancy p99',
          ),
        ],
      ),
      timeseries('Scope elections', 'Vacant scopes granted again, per minute.', 'none', [
        prom(
          'A',
          `max(rate(mesh_leadership_election_duration_ms_count{${JOB_SELECTOR}}[$__rate_interval])) * 60`,
          'elections per minute',
        ),
      ]),
    ],
  },
  {
    title: 'Writes and requests',
    panels: [
      timeseries('Proposals by result', 'Writes proposed to Raft per second, by result.', 'reqps', [
        prom(
          'A',
          `sum by (result) (rate(omnirelay_raft_proposals_total{${JOB_SELECTOR}}[$__rate_interval]))`,
          '{{result}}',
        ),
      ]),
      timeseries(
        'Failed proposals',
        'Writes that failed (not committed, not forwarded, not retried), per second (OmniRelayFailingProposals).',
        'reqps',
        [
          prom(
            'A',
            `sum(rate(omnirelay_raft_proposals_total{${JOB_SELECTOR}, result!~"committed|NOT_LEADER|TRANSFER_IN_PROGRESS"}[$__rate_interval]))`,
            'failed',
          ),
          prom('B', `sum(omnirelay_raft_proposals_pending{${JOB_SELECTOR}})`, 'pending'),
        ],
      ),
      timeseries('Requests by status', 'Client requests answered per second, by edge and status.', 'reqps', [
        prom(
          'A',
          `sum by (edge, code) (rate(omnirelay_requests_total{${JOB_SELECTOR}}[$__rate_interval]))`,
          '{{edge}} {{code}}',
        ),
      ]),
      timeseries(
        'Server error ratio',
        'Share of requests that failed on the server side (OmniRelayHighErrorRate above 5%).',
        'percentunit',
        [
          prom(
            'A',
            `(sum(rate(omnirelay_requests_total{${JOB_SELECTOR}, edge="grpc", code=~"UNKNOWN|INTERNAL|UNAVAILABLE|DEADLINE_EXCEEDED|DATA_LOSS"}[$__rate_interval]) or rate(omnirelay_requests_total{${JOB_SELECTOR}, edge="http", code=~"5.."}[$__rate_interval])) or vector(0)) / sum(rate(omnirelay_requests_total{${JOB_SELECTOR}}[$__rate_interval]))`,
            'server errors',
          ),
        ],
      ),
      timeseries(
        'Auth denials',
        'Calls access control refused per second, by reason (0 while access control is off).',
        'reqps',
        [
          prom(
            'A',
            `sum by (reason) (rate(omnirelay_access_denied_total{${JOB_SELECTOR}}[$__rate_interval])) or on () vector(0)`,
            '{{reason}}',
          ),
        ],
      ),
    ],
  },
  {
    title: 'Latency',
    panels: [
      timeseries(
        'fsync latency',
        'Durable Raft log writes per member (p50, p99).',
        's',
        medianAndP99('omnirelay_raft_fsync_duration_seconds', 'instance', '{{instance}} '),
      ),
      timeseries(
        'Commit latency',
        'From handing a write to Raft to its apply on the leader (p50, p99).',
        's',
        medianAndP99('omnirelay_raft_proposal_duration_seconds', '', ''),
      ),
      timeseries(
        'Event-loop lag',
        'Event-loop delay per member: p99 and the longest pause since the previous scrape (OmniRelayEventLoopStalls above 200 ms).',
        's',
        [
          prom('A', `nodejs_eventloop_lag_p99_seconds{${JOB_SELECTOR}}`, '{{instance}} p99'),
          prom('B', `nodejs_eventloop_lag_max_seconds{${JOB_SELECTOR}}`, '{{instance}} max'),
        ],
      ),
    ],
  },
  {
    title: 'Leases and watchers',
    panels: [
      timeseries(
        'Leases, scopes and waiting candidates',
        'Held leases, known scopes and queued candidates (the same on every replica).',
        'none',
        [
          prom('A', `max(omnirelay_leases{${JOB_SELECTOR}})`, 'leases'),
          prom('B', `max(omnirelay_scopes{${JOB_SELECTOR}})`, 'scopes'),
          prom('C', `max(omnirelay_waiting_candidates{${JOB_SELECTOR}})`, 'waiting candidates'),
        ],
      ),
      timeseries('Watchers', 'Live watch streams (gRPC and SSE) per member.', 'none', [
        prom('A', `omnirelay_watchers{${JOB_SELECTOR}}`, '{{instance}}'),
      ]),
      timeseries('Disk free', 'Free bytes on the file system of each member’s data folder.', 'bytes', [
        prom('A', `omnirelay_disk_free_bytes{${JOB_SELECTOR}}`, '{{instance}}'),
      ]),
    ],
  },
];

/** layout places the sections' panels on the grid, each section under a row panel, and numbers them. */
function layout(): Array<Panel | RowPanel> {
  const panels: Array<Panel | RowPanel> = [];
  let y = 0;
  let id = 1;
  for (const section of SECTIONS) {
    panels.push({
      type: 'row',
      title: section.title,
      id: id++,
      collapsed: false,
      panels: [],
      gridPos: { x: 0, y, w: GRID_WIDTH, h: 1 },
    });
    y += 1;
    let x = 0;
    for (const spec of section.panels) {
      if (x + spec.width > GRID_WIDTH) {
        x = 0;
        y += PANEL_HEIGHT;
      }
      panels.push({ ...spec.panel, id: id++, gridPos: { x, y, w: spec.width, h: PANEL_HEIGHT } });
      x += spec.width;
    }
    y += PANEL_HEIGHT;
  }
  return panels;
}

const VARIABLES: VariableModel[] = [
  {
    type: 'datasource',
    name: 'datasource',
    label: 'Prometheus',
    query: 'prometheus',
    hide: VariableHide.dontHide,
  },
  {
    type: 'datasource',
    name: 'infinity',
    label: 'Cluster API (Infinity)',
    description: 'An Infinity data source whose base URL is a node’s client port (or the client Service).',
    query: 'yesoreyeram-infinity-datasource',
    hide: VariableHide.dontHide,
  },
  {
    type: 'query',
    name: 'job',
    label: 'Cluster (scrape job)',
    datasource: PROMETHEUS,
    query: 'label_values(omnirelay_raft_term, job)',
    refresh: 2,
    includeAll: false,
    multi: false,
    hide: VariableHide.dontHide,
  },
];

/** omnirelayDashboard is the dashboard omnirelay-dashboard.json holds. */
export const omnirelayDashboard: Dashboard = {
  uid: DASHBOARD_UID,
  title: 'OmniRelay Control Plane',
  description:
    'Raft health, current holders and churn, elections, writes and latency of an OmniRelay Control Plane cluster (issue 19). Metrics: docs/metrics.md; alerts: deploy/prometheus/omnirelay-rules.yaml.',
  tags: ['omnirelay', 'raft'],
  editable: true,
  schemaVersion: 42,
  time: { from: 'now-1h', to: 'now' },
  refresh: '30s',
  timezone: 'browser',
  templating: { list: VARIABLES },
  panels: layout(),
};

/** dashboardJson is omnirelay-dashboard.json's exact text: 2-space JSON and a final newline. */
export function dashboardJson(): string {
  return `${JSON.stringify(omnirelayDashboard, null, 2)}\n`;
}

/** prometheusTargets lists every Prometheus query of the dashboard with its panel's title. */
export function prometheusTargets(
  dashboard: Dashboard = omnirelayDashboard,
): Array<{ panel: string; expr: string }> {
  return panelsOf(dashboard).flatMap((p) =>
    (p.targets ?? [])
      .filter((t) => typeof t['expr'] === 'string')
      .map((t) => ({ panel: p.title ?? '', expr: String(t['expr']) })),
  );
}

/** infinityTargets lists every Infinity query of the dashboard with its panel's title. */
export function infinityTargets(
  dashboard: Dashboard = omnirelayDashboard,
): Array<{ panel: string; query: InfinityQuery }> {
  return panelsOf(dashboard).flatMap((p) =>
    (p.targets ?? [])
      .filter((t) => t['source'] === 'url')
      .map((t) => ({ panel: p.title ?? '', query: t as unknown as InfinityQuery })),
  );
}

function panelsOf(dashboard: Dashboard): Panel[] {
  return (dashboard.panels ?? []).flatMap((p) => (p.type === 'row' ? (p as RowPanel).panels : [p as Panel]));
}
