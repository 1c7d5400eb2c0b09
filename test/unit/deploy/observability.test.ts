// The Grafana dashboard and Prometheus rules in deploy/ against Freshet's metrics, without a
// server: every query selects only metrics and labels worker/metrics.ts exports, with functions
// that suit the metric's type; promtool checks the syntax and runs the alerts on synthetic series.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Histogram } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createMetrics } from '../../../worker/metrics.ts';
import {
  type Dashboard,
  grafanaBuiltins,
  parseLabelValuesQuery,
  type RuleFile,
  scanPromql,
  substituteGrafanaVariables,
  variableQuery,
} from '../../support/promql.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dashboardPath = join(root, 'deploy/grafana/freshet.json');
const rulesPath = join(root, 'deploy/prometheus/freshet-rules.yml');
const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8')) as Dashboard;
const rules = parse(readFileSync(rulesPath, 'utf8')) as RuleFile;
const allRules = rules.groups.flatMap((g) => g.rules);
const datasourceUid = '$' + '{datasource}';

type Kind = 'counter' | 'gauge' | 'bucket' | 'histogram_sum_count' | 'recorded';
interface Known {
  kind: Kind;
  labels: Set<string>;
}

/** Series names with their labels: Freshet's registry, Prometheus' own `up`, and the recording rules. */
function knownSeries(): Map<string, Known> {
  const known = new Map<string, Known>();
  const metrics = createMetrics();
  for (const metric of Object.values(metrics)) {
    if (!(metric instanceof Counter || metric instanceof Gauge || metric instanceof Histogram)) continue;
    const { name, labelNames } = metric as unknown as { name: string; labelNames: string[] };
    const labels = new Set(labelNames);
    if (metric instanceof Histogram) {
      known.set(`${name}_bucket`, { kind: 'bucket', labels: new Set([...labels, 'le']) });
      known.set(`${name}_sum`, { kind: 'histogram_sum_count', labels });
      known.set(`${name}_count`, { kind: 'histogram_sum_count', labels });
    } else {
      known.set(name, { kind: metric instanceof Counter ? 'counter' : 'gauge', labels });
    }
  }
  // Every registered metric shows up in the registry the daemon serves.
  const served = metrics.registry.getMetricsAsArray().map((m) => m.name);
  for (const name of served) {
    expect([...known.keys()].some((k) => k === name || k.startsWith(`${name}_`))).toBe(true);
  }
  known.set('up', { kind: 'gauge', labels: new Set() });
  for (const rule of allRules) {
    if (rule.record) {
      known.set(rule.record, { kind: 'recorded', labels: new Set(scanPromql(rule.expr).groupingLabels) });
    }
  }
  return known;
}

const known = knownSeries();
const targetLabels = new Set(['job', 'instance']);
const rateFunctions = new Set(['rate', 'increase', 'irate']);

/** Problems with one expression; empty when it only uses what Freshet exports, the right way. */
function problems(expr: string, legendFormat?: string): string[] {
  const out: string[] = [];
  const scan = scanPromql(expr);
  const used = new Set<string>(targetLabels);
  if (scan.selectors.length === 0 && !/vector\(|time\(\)/.test(expr)) out.push('selects no metric');
  for (const s of scan.selectors) {
    const metric = s.metric === undefined ? undefined : known.get(s.metric);
    if (!metric) {
      out.push(`unknown metric ${s.metric ?? '(no name)'}`);
      continue;
    }
    for (const l of metric.labels) used.add(l);
    for (const l of s.labels) {
      if (!metric.labels.has(l) && !targetLabels.has(l)) out.push(`${s.metric} has no label ${l}`);
    }
    const innermost = s.within.at(-1);
    const cumulative =
      metric.kind === 'counter' || metric.kind === 'bucket' || metric.kind === 'histogram_sum_count';
    if (cumulative && s.range && !rateFunctions.has(innermost ?? '')) {
      out.push(`${s.metric}[…] is cumulative but inside ${innermost ?? 'nothing'}, not rate/increase`);
    }
    // A bare counter only beside the same counter `offset` the window, for series created in it:
    // (increase(x[d]) and x offset d) or (x unless x offset d).
    const offsetToo = scan.selectors.some((o) => o.offset && o.metric === s.metric);
    if (cumulative && !s.range && !offsetToo) {
      out.push(`${s.metric} is cumulative but used without rate/increase`);
    }
    if (!cumulative && s.range && rateFunctions.has(innermost ?? '')) {
      out.push(`${s.metric} is a gauge but inside ${innermost}`);
    }
    if (metric.kind === 'bucket') {
      if (!s.within.includes('histogram_quantile')) out.push(`${s.metric} outside histogram_quantile`);
      if (!scan.groupingLabels.includes('le')) out.push(`${s.metric} aggregated without keeping le`);
    }
  }
  for (const l of [...scan.groupingLabels, ...scan.matchingLabels]) {
    if (!used.has(l)) out.push(`groups or matches by ${l}, which none of its metrics has`);
  }
  if (
    scan.functions.includes('histogram_quantile') &&
    !scan.selectors.some((s) => s.metric?.endsWith('_bucket'))
  ) {
    out.push('histogram_quantile over something other than _bucket series');
  }
  if (legendFormat) {
    const output =
      scan.groupingLabels.length > 0 ? new Set([...scan.groupingLabels, ...scan.matchingLabels]) : used;
    for (const [, l] of legendFormat.matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
      if (l && !output.has(l)) out.push(`legend uses {{${l}}}, which the result does not have`);
    }
  }
  return out;
}

const variableValues = {
  datasource: 'prometheus',
  pipeline: 'web',
  stage: '.*',
  registry: '.*',
  ...grafanaBuiltins,
};
const panelQueries = dashboard.panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({
    panel: p.title,
    ...t,
    expr: substituteGrafanaVariables(t.expr, variableValues),
  })),
);

function promtool(...args: string[]) {
  const run = spawnSync('promtool', args, { encoding: 'utf8' });
  if (run.error)
    throw new Error(
      `promtool (from the Debian prometheus package, see stack/install.sh): ${run.error.message}`,
    );
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

const tmp = mkdtempSync(join(tmpdir(), 'freshet-observability-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('analysis helper', () => {
  it('sees metrics, labels, groupings and the functions around selectors', () => {
    const scan = scanPromql(
      'histogram_quantile(0.9, sum by (registry, le) (rate(freshet_registry_request_duration_seconds_bucket{registry=~"a|b"}[5m]))) / on (registry) group_left (x) up offset 1m',
    );
    expect(scan.selectors).toEqual([
      {
        metric: 'freshet_registry_request_duration_seconds_bucket',
        labels: ['registry'],
        range: true,
        offset: false,
        within: ['histogram_quantile', 'sum', 'rate'],
      },
      { metric: 'up', labels: [], range: false, offset: true, within: [] },
    ]);
    expect(scan.groupingLabels).toEqual(['registry', 'le']);
    expect(scan.matchingLabels).toEqual(['registry', 'x']);
  });

  it('flags unknown metrics and labels, and functions that do not suit the type', () => {
    expect(problems('freshet_nope')).toEqual(['unknown metric freshet_nope']);
    expect(problems('freshet_rollouts_total{stage="x"}[5m]')).toContain(
      'freshet_rollouts_total has no label stage',
    );
    expect(problems('sum(freshet_rollouts_total)')).toEqual([
      'freshet_rollouts_total is cumulative but used without rate/increase',
    ]);
    const created = 'freshet_rollouts_total unless freshet_rollouts_total offset 1h';
    expect(
      problems(`(increase(freshet_rollouts_total[1h]) and freshet_rollouts_total offset 1h) or (${created})`),
    ).toEqual([]);
    expect(problems('rate(freshet_approvals_pending[5m])')).toEqual([
      'freshet_approvals_pending is a gauge but inside rate',
    ]);
    expect(
      problems(
        'histogram_quantile(0.9, sum by (pipeline) (rate(freshet_time_to_production_seconds_bucket[5m])))',
      ),
    ).toEqual(['freshet_time_to_production_seconds_bucket aggregated without keeping le']);
    expect(problems('sum by (outcome) (freshet_approvals_pending)')).toEqual([
      'groups or matches by outcome, which none of its metrics has',
    ]);
    expect(problems('sum by (pipeline) (freshet_approvals_pending)', '{{stage}}')).toEqual([
      'legend uses {{stage}}, which the result does not have',
    ]);
  });
});

describe('grafana dashboard', () => {
  it('is a schemaVersion 39 dashboard on a selectable Prometheus data source', () => {
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.uid).toBe('freshet');
    const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(vars.pipeline).toMatchObject({ type: 'query', datasource: { uid: datasourceUid } });
    expect(variableQuery(vars.pipeline!)).toBe('label_values(freshet_image_up_to_date, pipeline)');
  });

  it('has panels with unique ids and titles, each with a query, on the datasource variable', () => {
    const ids = dashboard.panels.map((p) => p.id);
    const titles = dashboard.panels.map((p) => p.title);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(titles).size).toBe(titles.length);
    for (const p of dashboard.panels) {
      expect(p.title.trim(), `panel ${p.id}`).not.toBe('');
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
      expect(p.datasource?.uid, p.title).toBe(datasourceUid);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, p.title).toBe(refIds.length);
      for (const t of p.targets ?? []) {
        expect(t.expr.trim(), `${p.title} ${t.refId}`).not.toBe('');
        expect(t.datasource?.uid, `${p.title} ${t.refId}`).toBe(datasourceUid);
      }
    }
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    const cells = new Map<string, string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const key = `${i},${j}`;
          expect(cells.get(key), `${p.title} overlaps`).toBeUndefined();
          cells.set(key, p.title);
        }
      }
    }
  });

  it('covers freshness, lineage, rollouts, approvals, lead time, registry, watch and the inventory', () => {
    const metricsUsed = new Set(
      panelQueries.flatMap((q) =>
        scanPromql(q.expr).selectors.map((s) => s.metric?.replace(/_(bucket|sum|count)$/, '')),
      ),
    );
    for (const name of [
      'freshet_image_up_to_date',
      'freshet_image_behind_since_timestamp_seconds',
      'freshet_image_running_created_timestamp_seconds',
      'freshet_base_image_behind',
      'freshet_base_image_behind_since_timestamp_seconds',
      'freshet_image_info',
      'freshet_rollouts_total',
      'freshet_rollbacks_total',
      'freshet_approvals_pending',
      'freshet_rollout_stage_duration_seconds',
      'freshet_time_to_production_seconds',
      'freshet_registry_requests_total',
      'freshet_registry_request_duration_seconds',
      'freshet_watch_last_success_timestamp_seconds',
      'freshet_watch_errors_total',
      'freshet_workload_up_to_date',
      'freshet_workload_behind_since_timestamp_seconds',
      'freshet_workload_image_created_timestamp_seconds',
      'freshet_image_absent',
      'freshet_image_lookup_failures_total',
    ]) {
      expect(metricsUsed.has(name), name).toBe(true);
    }
  });

  it.each(panelQueries.map((q) => [`${q.panel} ${q.refId}`, q] as const))(
    'query %s uses only exported metrics and labels, correctly for their type',
    (_name, q) => {
      expect(problems(q.expr, q.legendFormat)).toEqual([]);
    },
  );

  it('has variable queries over exported metrics and labels', () => {
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      const parsed = parseLabelValuesQuery(variableQuery(v));
      expect(parsed, v.name).toBeDefined();
      const [selector, ...more] = scanPromql(
        substituteGrafanaVariables(parsed!.match, variableValues),
      ).selectors;
      expect(more, v.name).toEqual([]);
      const metric = known.get(selector?.metric ?? '');
      expect(metric, `${v.name}: ${selector?.metric}`).toBeDefined();
      for (const l of [...(selector?.labels ?? []), parsed!.label])
        expect(metric?.labels.has(l), `${v.name}: ${l}`).toBe(true);
    }
  });

  it('has queries promtool accepts', () => {
    const file = join(tmp, 'dashboard-queries.yml');
    writeFileSync(
      file,
      stringify({
        groups: [
          {
            name: 'dashboard',
            rules: panelQueries.map((q, i) => ({ record: `freshet:dashboard_query_${i}`, expr: q.expr })),
          },
        ],
      }),
    );
    const check = promtool('check', 'rules', file);
    expect(check.output).toContain(`SUCCESS: ${panelQueries.length} rules found`);
    expect(check.ok, check.output).toBe(true);
  });
});

describe('prometheus rules', () => {
  it('pass promtool check rules', () => {
    const check = promtool('check', 'rules', rulesPath);
    expect(check.ok, check.output).toBe(true);
    expect(check.output).toContain(`SUCCESS: ${allRules.length} rules found`);
  });

  it('have an expr each; alerts have for, severity, summary and description', () => {
    expect(allRules.length).toBeGreaterThan(0);
    const names = allRules.map((r) => r.alert ?? r.record);
    expect(new Set(names).size).toBe(names.length);
    for (const r of allRules) {
      const name = r.alert ?? r.record ?? '(unnamed)';
      expect(typeof r.expr === 'string' && r.expr.trim() !== '', name).toBe(true);
      expect(Boolean(r.alert) !== Boolean(r.record), `${name}: alert or record`).toBe(true);
      if (r.record) {
        expect(r.record, name).toMatch(/^[a-z_]+:[a-z_]+(:[a-z_]+)?$/);
        continue;
      }
      expect(r.for, name).toMatch(/^\d+[smhd]$/);
      expect(['critical', 'warning', 'info'], name).toContain(r.labels?.severity);
      expect(r.annotations?.summary?.trim(), name).toBeTruthy();
      expect(r.annotations?.description?.trim(), name).toBeTruthy();
    }
    expect(allRules.filter((r) => r.alert).map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'FreshetWorkloadStale',
        'FreshetBaseImageBehind',
        'FreshetRollbackHappened',
        'FreshetApprovalWaitingTooLong',
        'FreshetFreezeLong',
        'FreshetRollbackStuck',
        'FreshetRolloutReverted',
        'FreshetKubernetesEventsFailing',
        'FreshetWatchFailing',
        'FreshetDown',
      ]),
    );
  });

  it.each(allRules.map((r) => [r.alert ?? r.record, r] as const))(
    '%s uses only exported metrics and labels, correctly for their type',
    (_name, r) => {
      expect(problems(r.expr)).toEqual([]);
      // Alert labels and annotations only name labels the expression yields.
      if (!r.alert) return;
      const scan = scanPromql(r.expr);
      const output = new Set(
        scan.groupingLabels.length > 0
          ? [...scan.groupingLabels, ...scan.matchingLabels]
          : scan.selectors.flatMap((s) => [...(known.get(s.metric ?? '')?.labels ?? []), ...targetLabels]),
      );
      for (const text of Object.values(r.annotations ?? {})) {
        for (const [, l] of text.matchAll(/\$labels\.(\w+)/g)) {
          expect(output.has(l ?? ''), `${r.alert} annotation uses $labels.${l}`).toBe(true);
        }
      }
    },
  );

  it('fire on synthetic series as promtool test rules sees them', () => {
    // Annotations are checked above; promtool compares them verbatim, so the copy drops them.
    const bare = {
      groups: rules.groups.map((g) => ({
        ...g,
        rules: g.rules.map(({ annotations: _annotations, ...rule }) => rule),
      })),
    };
    writeFileSync(join(tmp, 'rules.yml'), stringify(bare));
    const target =
      'pipeline="web",stage="production",namespace="prd",deployment="web-1",container="web",image="web"';
    const inst = 'job="freshet",instance="10.0.0.1:9464"';
    const fleet =
      'cluster="prod",namespace="shop",kind="StatefulSet",workload="db",container="migrate",image="registry.example/acme/tools:2",in_pipeline="false"';
    const alerts = (name: string, at: string, labels: Record<string, string>[]) => ({
      alertname: name,
      eval_time: at,
      exp_alerts: labels.map((l) => ({ exp_labels: l })),
    });
    const slow = {
      // Days (a week and a bit): a sample every 4 minutes (within the 5-minute lookback), rules every 10.
      evaluation_interval: '10m',
      interval: '4m',
      series: [
        // behind since t=0; another target is up to date and has no behind-since series
        { series: `freshet_image_behind_since_timestamp_seconds{${inst},${target}}`, values: '0x2600' },
        { series: `freshet_image_up_to_date{${inst},${target}}`, values: '0x2600' },
        { series: `freshet_image_up_to_date{${inst},${target.replace('web-1', 'web-2')}}`, values: '1x2600' },
        // the base moved on at t=0 for web; api's base is current
        { series: `freshet_base_image_behind{${inst},image="web"}`, values: '1x2600' },
        {
          series: `freshet_base_image_behind_since_timestamp_seconds{${inst},image="web"}`,
          values: '0x2600',
        },
        { series: `freshet_base_image_behind{${inst},image="api"}`, values: '0x2600' },
        { series: `freshet_approvals_pending{${inst},pipeline="web",stage="production"}`, values: '1x400' },
        // an init container out of any pipeline behind since t=0; its neighbour is up to date
        { series: `freshet_workload_behind_since_timestamp_seconds{${inst},${fleet}}`, values: '0x5200' },
        { series: `freshet_workload_up_to_date{${inst},${fleet}}`, values: '0x5200' },
        {
          series: `freshet_workload_up_to_date{${inst},${fleet.replace('migrate', 'app')}}`,
          values: '1x5200',
        },
        // web frozen since t=0; api's freeze gauge says 0 and it has no since series
        { series: `freshet_freeze_active{${inst},pipeline="web"}`, values: '1x400' },
        { series: `freshet_freeze_since_timestamp_seconds{${inst},pipeline="web"}`, values: '0x400' },
        { series: `freshet_freeze_active{${inst},pipeline="api"}`, values: '0x400' },
      ],
      tests: [
        alerts('FreshetWorkloadStale', '6d23h', []),
        alerts('FreshetWorkloadStale', '7d1h', [
          {
            severity: 'warning',
            pipeline: 'web',
            stage: 'production',
            namespace: 'prd',
            deployment: 'web-1',
            container: 'web',
            image: 'web',
          },
        ]),
        alerts('FreshetInventoryWorkloadBehind', '13d23h', []),
        alerts('FreshetInventoryWorkloadBehind', '14d1h', [
          {
            severity: 'warning',
            cluster: 'prod',
            namespace: 'shop',
            kind: 'StatefulSet',
            workload: 'db',
            container: 'migrate',
            image: 'registry.example/acme/tools:2',
            in_pipeline: 'false',
          },
        ]),
        alerts('FreshetBaseImageBehind', '2d23h', []),
        alerts('FreshetBaseImageBehind', '3d1h', [{ severity: 'info', image: 'web' }]),
        alerts('FreshetFreezeLong', '23h50m', []),
        alerts('FreshetFreezeLong', '24h20m', [{ severity: 'warning', pipeline: 'web' }]),
        alerts('FreshetApprovalWaitingTooLong', '23h50m', []),
        alerts('FreshetApprovalWaitingTooLong', '24h10m', [
          { severity: 'warning', pipeline: 'web', stage: 'production' },
        ]),
      ],
    };
    const fast = {
      // Minutes: a sample and an evaluation a minute.
      evaluation_interval: '1m',
      interval: '1m',
      series: [
        // a first rollback (a new series) and one on a counter that starts at 0, both at 10 min
        {
          series: `freshet_rollbacks_total{${inst},pipeline="web",stage="staging",reason="not_ready"}`,
          values: '_x10 1x60',
        },
        {
          series: `freshet_rollbacks_total{${inst},pipeline="web",stage="production",reason="check_failed"}`,
          values: '0x10 1x60',
        },
        // registry hub: last success stuck at t=0, a third of requests 503, checks failing
        { series: `freshet_watch_last_success_timestamp_seconds{${inst},registry="hub"}`, values: '0x100' },
        { series: `freshet_watch_last_success_timestamp_seconds{${inst},registry="ok"}`, values: '0+60x100' },
        {
          series: `freshet_registry_requests_total{${inst},registry="hub",method="GET",code="200"}`,
          values: '0+10x100',
        },
        {
          series: `freshet_registry_requests_total{${inst},registry="hub",method="GET",code="503"}`,
          values: '0+5x100',
        },
        {
          series: `freshet_registry_requests_total{${inst},registry="ok",method="GET",code="200"}`,
          values: '0+10x100',
        },
        { series: `freshet_watch_errors_total{${inst},registry="hub"}`, values: '0+1x100' },
        // image web's checks fail from 10 minutes on; image api's never do
        { series: `freshet_image_check_failing{${inst},image="web"}`, values: '0x10 1x60' },
        { series: `freshet_image_check_failing{${inst},image="api"}`, values: '0x70' },
        // hub's pulls run down from 100 of 200 by 2 a minute: under 20 after 40 minutes
        { series: `freshet_registry_ratelimit_limit{${inst},registry="hub"}`, values: '200x100' },
        { series: `freshet_registry_ratelimit_remaining{${inst},registry="hub"}`, values: '100-2x45 10x50' },
        { series: `freshet_registry_ratelimit_limit{${inst},registry="ok"}`, values: '200x100' },
        { series: `freshet_registry_ratelimit_remaining{${inst},registry="ok"}`, values: '180x100' },
        // a rollback stuck from 10 to 30 minutes
        {
          series: `freshet_rollback_stuck{${inst},pipeline="web",stage="staging"}`,
          values: '0x10 1x20 0x30',
        },
        // a rollout reverted at 10 min (a new series); Events failing on cluster prd from 10 min
        {
          series: `freshet_rollouts_total{${inst},pipeline="web",outcome="reverted"}`,
          values: '_x10 1x60',
        },
        {
          series: `freshet_rollouts_total{${inst},pipeline="api",outcome="reverted"}`,
          values: '0x70',
        },
        {
          series: `freshet_kubernetes_events_total{${inst},cluster="prd",reason="FreshetUpdated",outcome="failed"}`,
          values: '0x10 1+1x5 6x60',
        },
        {
          series: `freshet_kubernetes_events_total{${inst},cluster="prd",reason="FreshetUpdated",outcome="recorded"}`,
          values: '0+1x70',
        },
        // sink hook fails from 10 minutes on and delivers nothing; sink ok fails now and then but delivers
        {
          series: `freshet_notifications_total{${inst},sink="hook",event="approval.waiting",result="failed"}`,
          values: '0x10 0+1x60',
        },
        {
          series: `freshet_notifications_total{${inst},sink="hook",event="approval.waiting",result="sent"}`,
          values: '0+1x10 10x60',
        },
        {
          series: `freshet_notifications_total{${inst},sink="ok",event="approval.waiting",result="failed"}`,
          values: '0+1x70',
        },
        {
          series: `freshet_notifications_total{${inst},sink="ok",event="approval.waiting",result="sent"}`,
          values: '0+1x70',
        },
        // acme/gone answers 404 from 10 minutes on; acme/here is found
        { series: `freshet_image_absent{${inst},image="r.example/acme/gone:1"}`, values: '0x10 1x80' },
        { series: `freshet_image_absent{${inst},image="r.example/acme/here:1"}`, values: '0x90' },
        // cluster prod is last scanned at 5 minutes; cluster edge every minute
        {
          series: `freshet_inventory_last_scan_timestamp_seconds{${inst},cluster="prod"}`,
          values: '0+60x5 300x90',
        },
        {
          series: `freshet_inventory_last_scan_timestamp_seconds{${inst},cluster="edge"}`,
          values: '0+60x90',
        },
        { series: `up{${inst}}`, values: '1x5 0x30' },
        { series: 'up{job="prometheus",instance="localhost:9090"}', values: '0x30' },
      ],
      tests: [
        alerts('FreshetRollbackHappened', '5m', []),
        alerts('FreshetRollbackHappened', '15m', [
          { severity: 'warning', pipeline: 'web', stage: 'staging', reason: 'not_ready' },
          { severity: 'warning', pipeline: 'web', stage: 'production', reason: 'check_failed' },
        ]),
        alerts('FreshetRollbackHappened', '40m', []),
        alerts('FreshetRolloutReverted', '5m', []),
        alerts('FreshetRolloutReverted', '15m', [{ severity: 'warning', pipeline: 'web' }]),
        alerts('FreshetRolloutReverted', '40m', []),
        alerts('FreshetKubernetesEventsFailing', '5m', []),
        alerts('FreshetKubernetesEventsFailing', '20m', [
          { severity: 'info', cluster: 'prd', reason: 'FreshetUpdated' },
        ]),
        alerts('FreshetKubernetesEventsFailing', '60m', []),
        alerts('FreshetRollbackStuck', '13m', []),
        alerts('FreshetRollbackStuck', '20m', [{ severity: 'critical', pipeline: 'web', stage: 'staging' }]),
        alerts('FreshetRollbackStuck', '35m', []),
        alerts('FreshetWatchFailing', '30m', []),
        alerts('FreshetWatchFailing', '40m', [{ severity: 'warning', registry: 'hub' }]),
        alerts('FreshetWatchErrors', '40m', [{ severity: 'info', registry: 'hub' }]),
        alerts('FreshetImageCheckFailing', '35m', []),
        alerts('FreshetImageCheckFailing', '45m', [
          { severity: 'warning', job: 'freshet', instance: '10.0.0.1:9464', image: 'web' },
        ]),
        alerts('FreshetRegistryRateLimitLow', '50m', []),
        alerts('FreshetRegistryRateLimitLow', '58m', [
          { severity: 'info', job: 'freshet', instance: '10.0.0.1:9464', registry: 'hub' },
        ]),
        alerts('FreshetRegistryErrors', '10m', []),
        alerts('FreshetRegistryErrors', '30m', [{ severity: 'warning', registry: 'hub' }]),
        alerts('FreshetNotificationSinkFailing', '20m', []),
        alerts('FreshetNotificationSinkFailing', '45m', [{ severity: 'warning', sink: 'hook' }]),
        alerts('FreshetImageMissingUpstream', '65m', []),
        alerts('FreshetImageMissingUpstream', '75m', [
          { severity: 'warning', image: 'r.example/acme/gone:1' },
        ]),
        alerts('FreshetInventoryScanFailing', '22m', []),
        alerts('FreshetInventoryScanFailing', '27m', [{ severity: 'warning', cluster: 'prod' }]),
        alerts('FreshetDown', '8m', []),
        alerts('FreshetDown', '20m', [{ severity: 'critical', job: 'freshet', instance: '10.0.0.1:9464' }]),
      ],
    };
    for (const [name, t] of Object.entries({ slow, fast })) {
      const file = join(tmp, `${name}.test.yml`);
      writeFileSync(
        file,
        stringify({
          rule_files: ['rules.yml'],
          evaluation_interval: t.evaluation_interval,
          tests: [{ interval: t.interval, input_series: t.series, alert_rule_test: t.tests }],
        }),
      );
      const run = promtool('test', 'rules', file);
      expect(run.ok, `${name}: ${run.output}`).toBe(true);
      expect(run.output).toContain('SUCCESS');
    }
    // Every alert of the file is exercised.
    const tested = new Set([...slow.tests, ...fast.tests].map((t) => t.alertname));
    for (const r of allRules) if (r.alert) expect(tested.has(r.alert), r.alert).toBe(true);
  }, 60_000);
});

describe('promtool', () => {
  it('is installed (the Debian prometheus package ships it)', () => {
    expect(execFileSync('promtool', ['--version'], { encoding: 'utf8' })).toMatch(/promtool, version/);
  });
});
