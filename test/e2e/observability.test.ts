// deploy/grafana/freshet.json and deploy/prometheus/freshet-rules.yml against the stack's real
// Prometheus: a daemon in the test process is scraped through file_sd while it rolls out one good
// and one broken build; then every dashboard query and rule evaluates without error, the key
// panels show those rollouts and the stale targets, and the rules load healthy and alert on the
// rollback.
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { rolloutWorkflowId } from '../../workflows/rollout-messages.ts';
import type { PushedImage } from '../support/image-pusher.ts';
import {
  type Dashboard,
  grafanaBuiltins,
  parseLabelValuesQuery,
  type RuleFile,
  substituteGrafanaVariables,
  variableQuery,
} from '../support/promql.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const root = fileURLToPath(new URL('../../', import.meta.url));
const rulesSource = join(root, 'deploy/prometheus/freshet-rules.yml');
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/freshet.json'), 'utf8')) as Dashboard;
const rules = parse(readFileSync(rulesSource, 'utf8')) as RuleFile;

interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/** GET (or POST for long queries) on Prometheus' HTTP API; throws with its error unless success. */
async function api(path: string, params: Record<string, string> = {}, method = 'GET'): Promise<unknown> {
  const form = new URLSearchParams(params);
  const res =
    method === 'POST'
      ? await fetch(`${stack.prometheus.url}${path}`, { method, body: form })
      : await fetch(`${stack.prometheus.url}${path}?${form}`);
  const json = (await res.json()) as { status: string; data: unknown; errorType?: string; error?: string };
  if (json.status !== 'success')
    throw new Error(`${path} ${JSON.stringify(params)}: ${json.errorType}: ${json.error}`);
  return json.data;
}

const query = async (expr: string) =>
  ((await api('/api/v1/query', { query: expr }, 'POST')) as { result: Sample[] }).result;

/** A range query from `from` to now in 2 s steps, the last step now (a sample just in is seen). */
async function queryRange(expr: string, from: number) {
  const end = Date.now() / 1000;
  const start = end - Math.ceil((end - from) / 2) * 2;
  const params = { query: expr, start: String(start), end: String(end), step: '2' };
  const data = (await api('/api/v1/query_range', params, 'POST')) as {
    result: Sample[];
  };
  return data.result;
}

const value = (s: Sample | undefined) => Number(s?.value?.[1]);
const maxOverTime = (s: Sample | undefined) => Math.max(...(s?.values ?? []).map(([, v]) => Number(v)));

let fx: RolloutFixture;
let targetFile: string | undefined;
let rulesFile: string | undefined;
let instance: string;
let scrapedFrom: number;
let good: PushedImage;
let broken: PushedImage;
let vars: Record<string, string>;

function panelQueries(title: string) {
  const panel = dashboard.panels.find((p) => p.title === title);
  if (!panel) throw new Error(`no panel "${title}"`);
  return (panel.targets ?? []).map((t) => substituteGrafanaVariables(t.expr, vars));
}

const panelQuery = (title: string, refId = 'A') => {
  const panel = dashboard.panels.find((p) => p.title === title);
  const index = panel?.targets?.findIndex((t) => t.refId === refId) ?? -1;
  const q = panelQueries(title)[index];
  if (q === undefined) throw new Error(`no query ${refId} in panel "${title}"`);
  return q;
};

async function reloadPrometheus() {
  const res = await fetch(`${stack.prometheus.url}/-/reload`, { method: 'POST' });
  if (!res.ok) throw new Error(`Prometheus reload: HTTP ${res.status} ${await res.text()}`);
}

describe('observability on the real Prometheus', () => {
  beforeAll(async () => {
    fx = await createRolloutFixture(stack, { interval: '1s' });
    vars = {
      datasource: 'prometheus',
      pipeline: fx.pipeline,
      stage: '.*',
      registry: `reg-${fx.suffix}`,
      ...grafanaBuiltins,
    };
    instance = new URL(fx.daemon.url).host;
    targetFile = join(stack.prometheus.targetsDir, `observability-${fx.suffix}.json`);
    writeFileSync(targetFile, JSON.stringify([{ targets: [instance] }]));
    await waitFor('Prometheus to scrape the daemon', async () => {
      const up = await query(`up{job="freshet", instance="${instance}"}`);
      return value(up[0]) === 1;
    });
    scrapedFrom = Date.now() / 1000;

    // The watch (1 s interval) starts a rollout for each push: one good, one broken (which rolls
    // back when staging is not ready after the fixture's 60 s: room for the good one on a busy host).
    good = await fx.push();
    const ok = await fx.result(
      rolloutWorkflowId(fx.pipeline, fx.image, good.digest, fx.config.temporal.instance),
    );
    expect(ok.outcome).toBe('succeeded');
    broken = await fx.push({ broken: true });
    const back = await fx.result(
      rolloutWorkflowId(fx.pipeline, fx.image, broken.digest, fx.config.temporal.instance),
    );
    expect(back.outcome).toBe('rolled_back');
    await fx.daemon.refreshFreshness();

    const p = `pipeline="${fx.pipeline}"`;
    await waitFor(
      'Prometheus to scrape the rollouts and the stale targets',
      async () => {
        const rollouts = await query(`freshet_rollouts_total{${p}} > 0`);
        const behind = await query(`freshet_image_behind_since_timestamp_seconds{${p}}`);
        const info = await query(`freshet_image_info{image="${fx.image}", digest="${broken.digest}"}`);
        return rollouts.length === 2 && behind.length === 2 * fx.deployments.length && info.length === 1;
      },
      { timeoutMs: 30_000 },
    );
  }, 420_000);

  afterAll(async () => {
    if (targetFile) rmSync(targetFile, { force: true });
    if (rulesFile) {
      rmSync(rulesFile, { force: true });
      await reloadPrometheus().catch(() => undefined);
    }
    await fx?.close();
  });

  it('evaluates every dashboard query, instant and over time, without error', async () => {
    let count = 0;
    for (const panel of dashboard.panels) {
      for (const t of panel.targets ?? []) {
        const expr = substituteGrafanaVariables(t.expr, vars);
        await expect(query(expr), `${panel.title} ${t.refId}`).resolves.toBeInstanceOf(Array);
        if (!t.instant) {
          await expect(queryRange(expr, scrapedFrom), `${panel.title} ${t.refId}`).resolves.toBeInstanceOf(
            Array,
          );
        }
        count++;
      }
    }
    expect(count).toBeGreaterThan(20);
  });

  it("lists the fixture's pipeline, stages and registry in the dashboard variables", async () => {
    const listed: Record<string, string[]> = {};
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      const parsed = parseLabelValuesQuery(variableQuery(v));
      if (!parsed) throw new Error(`variable ${v.name} is not a label_values query`);
      const match = substituteGrafanaVariables(parsed.match, vars);
      listed[v.name] = (await api(`/api/v1/label/${parsed.label}/values`, { 'match[]': match })) as string[];
    }
    expect(listed.pipeline).toContain(fx.pipeline);
    expect(listed.stage).toEqual(expect.arrayContaining(['staging', 'production']));
    expect(listed.registry).toContain(`reg-${fx.suffix}`);
  });

  it('shows both rollouts by outcome, the rollback and the rollback rate', async () => {
    const inRange = await query(panelQuery('Rollouts in range'));
    // Series of outcomes that never happened exist at 0 (the daemon creates them at start), and
    // increase() extrapolates to the window's edges, so counts are rounded.
    expect(
      Object.fromEntries(
        inRange.filter((s) => value(s) > 0).map((s) => [s.metric.outcome, Math.round(value(s))]),
      ),
    ).toEqual({
      succeeded: 1,
      rolled_back: 1,
    });
    expect(inRange.every((s) => s.metric.pipeline === fx.pipeline)).toBe(true);

    // Over time: each outcome shows once, counted although its series began with that rollout.
    const overTime = await queryRange(panelQuery('Rollouts by outcome'), scrapedFrom);
    expect(
      Object.fromEntries(
        overTime.filter((s) => maxOverTime(s) > 0).map((s) => [s.metric.outcome, Math.round(maxOverTime(s))]),
      ),
    ).toEqual({
      succeeded: 1,
      rolled_back: 1,
    });
    const rollbacks = await queryRange(panelQuery('Rollbacks by reason'), scrapedFrom);
    expect(
      rollbacks.filter((s) => maxOverTime(s) > 0).map((s) => [s.metric, Math.round(maxOverTime(s))]),
    ).toEqual([[{ pipeline: fx.pipeline, stage: 'staging', reason: 'not_ready' }, 1]]);

    expect(value((await query(panelQuery('Rolled-back share')))[0])).toBeCloseTo(0.5, 2);
    const rate = await query(panelQuery('Rollback rate'));
    expect(rate.map((s) => s.metric.pipeline)).toEqual([fx.pipeline]);
    expect(value(rate[0])).toBeCloseTo(0.5, 2);
  });

  it('shows stage durations and the time to production of the good build', async () => {
    const elapsed = Date.now() / 1000 - scrapedFrom;
    const [p50, p90, mean] = await Promise.all(panelQueries('Time to production').map(query));
    for (const result of [p50, p90, mean]) {
      expect(result?.map((s) => s.metric.pipeline)).toEqual([fx.pipeline]);
      expect(value(result?.[0])).toBeGreaterThan(0);
    }
    expect(value(mean?.[0])).toBeLessThan(elapsed);
    const stages = await query(panelQuery('Stage duration incl. approval wait', 'B'));
    expect(stages.map((s) => s.metric.stage).sort()).toEqual(['production', 'staging']);
    for (const s of stages) expect(Number.isFinite(value(s))).toBe(true);
    expect(value((await query(panelQuery('Approvals pending')))[0])).toBe(0);
  });

  it('shows every target as stale since the broken build, and the image info', async () => {
    const n = 2 * fx.deployments.length;
    const sinceBroken = Date.now() / 1000 - Date.parse(broken.created) / 1000;
    const stale = await query(panelQuery('Stale workloads', 'A'));
    expect(stale.map((s) => `${s.metric.namespace}/${s.metric.deployment}`).sort()).toEqual(
      [fx.staging, fx.production].flatMap((ns) => fx.deployments.map((d) => `${ns}/${d}`)).sort(),
    );
    for (const s of stale) {
      expect(s.metric).toMatchObject({
        pipeline: fx.pipeline,
        image: fx.image,
        container: s.metric.deployment,
      });
      expect(value(s)).toBeGreaterThanOrEqual(0);
      expect(value(s)).toBeLessThanOrEqual(sinceBroken + 5);
    }
    const buildAge = await query(panelQuery('Stale workloads', 'B'));
    expect(buildAge.length).toBe(n);
    expect(value((await query(panelQuery('Stale targets')))[0])).toBe(n);
    expect(value((await query(panelQuery('Targets up to date')))[0])).toBe(0);
    expect(value((await query(panelQuery('Stale, behind-since unknown')))[0])).toBe(0);
    expect(value((await query(panelQuery('Images behind on their base')))[0])).toBe(0);
    const overTime = await query(panelQuery('Staleness over time'));
    expect(overTime.map((s) => s.metric.stage).sort()).toEqual(['production', 'staging']);

    const info = await query(panelQuery('Image info'));
    expect(info.map((s) => s.metric)).toEqual([
      // base_name is empty (no base annotation), and Prometheus drops empty labels.
      { image: fx.image, tag: '1.0', digest: broken.digest },
    ]);
  });

  it("shows the registry's requests, latency and the watch's last success", async () => {
    const registry = `reg-${fx.suffix}`;
    const requests = await query(panelQuery('Registry requests by code'));
    expect(requests.some((s) => s.metric.registry === registry && /^2\d\d$/.test(s.metric.code ?? ''))).toBe(
      true,
    );
    expect(
      (await query(panelQuery('Registry error ratio'))).map((s) => [s.metric.registry, value(s)]),
    ).toEqual([[registry, 0]]);
    const latency = await Promise.all(panelQueries('Registry request latency').map(query));
    for (const result of latency) {
      expect(result.map((s) => s.metric.registry)).toEqual([registry]);
      expect(value(result[0])).toBeGreaterThan(0);
    }
    const age = await query(panelQuery('Time since last successful watch'));
    expect(age.map((s) => s.metric.registry)).toEqual([registry]);
    expect(value(age[0])).toBeLessThan(60);
  });

  it('loads the rules healthy into Prometheus, and alerts on the rollback', async () => {
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      await expect(query(rule.expr), rule.alert ?? rule.record).resolves.toBeInstanceOf(Array);
    }
    rulesFile = join(stack.prometheus.rulesDir, `observability-${fx.suffix}.yml`);
    copyFileSync(rulesSource, rulesFile);
    await reloadPrometheus();
    type ApiRule = {
      name: string;
      health: string;
      lastError?: string;
      type: string;
      alerts?: { labels: Record<string, string>; state: string }[];
    };
    const expected = rules.groups.flatMap((g) => g.rules.map((r) => r.alert ?? r.record));
    const loaded = await waitFor('the rules to be loaded and evaluated', async () => {
      const data = (await api('/api/v1/rules')) as { groups: { file: string; rules: ApiRule[] }[] };
      const ours = data.groups.filter((g) => g.file === rulesFile).flatMap((g) => g.rules);
      return ours.length === expected.length && ours.every((r) => r.health !== 'unknown') ? ours : undefined;
    });
    expect(loaded.map((r) => r.name)).toEqual(expected);
    for (const r of loaded) expect([r.name, r.health, r.lastError ?? '']).toEqual([r.name, 'ok', '']);

    const staleness = await query(`freshet:image_staleness_seconds{pipeline="${fx.pipeline}"}`);
    expect(staleness.length).toBe(2 * fx.deployments.length);
    const firing = await waitFor('FreshetRollbackHappened to fire for the fixture', async () => {
      const data = (await api('/api/v1/alerts')) as {
        alerts: { labels: Record<string, string>; state: string }[];
      };
      return data.alerts.find(
        (a) => a.labels.alertname === 'FreshetRollbackHappened' && a.labels.pipeline === fx.pipeline,
      );
    });
    expect(firing).toMatchObject({
      state: 'firing',
      labels: { severity: 'warning', pipeline: fx.pipeline, stage: 'staging', reason: 'not_ready' },
    });
  });
});
