// Prometheus health checks against the stack's real Prometheus: the test serves a /metrics target
// with an error-rate gauge, registers it through file_sd, and checks it like a rollout would.
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runPrometheusCheck } from '../../activities/health/index.ts';
import type { PrometheusCheckSpec } from '../../activities/health/types.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const suffix = randomUUID().slice(0, 8);
const series = `freshet_test_error_rate{suffix="${suffix}"}`;
let server: Server;
let targetFile: string;

const check = (extra: Partial<PrometheusCheckSpec>) =>
  runPrometheusCheck({ name: 'error rate', url: stack.prometheus.url, query: series, ...extra });

describe('prometheus health checks', () => {
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url !== '/metrics') return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        [
          '# TYPE freshet_test_error_rate gauge',
          `freshet_test_error_rate{suffix="${suffix}",pod="a"} 0.002`,
          `freshet_test_error_rate{suffix="${suffix}",pod="b"} 0.23`,
          '',
        ].join('\n'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    targetFile = join(stack.prometheus.targetsDir, `health-checks-${suffix}.json`);
    writeFileSync(targetFile, JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { suffix } }]));
    await waitFor('Prometheus to scrape both test series', async () => {
      const res = await fetch(`${stack.prometheus.url}/api/v1/query?query=${encodeURIComponent(series)}`);
      const body = (await res.json()) as { data: { result: unknown[] } };
      return body.data.result.length === 2;
    });
  });
  afterAll(async () => {
    rmSync(targetFile, { force: true });
    await new Promise((resolve) => server.close(resolve));
  });

  it('passes when every series is below max, reporting the worst', async () => {
    const outcome = await check({ max: 0.5 });
    expect(outcome).toMatchObject({ kind: 'prometheus', ok: true, value: 0.23, threshold: '<= 0.5' });
    expect(outcome.detail).toMatch(/= 0\.23 <= max 0\.5 at \{.*pod="b".*\} \(worst of 2 series\)$/);
  });

  it('fails when one series is above max, naming the value and the bound', async () => {
    const outcome = await check({ max: 0.01 });
    expect(outcome).toMatchObject({ ok: false, value: 0.23, threshold: '<= 0.01' });
    expect(outcome.detail.startsWith(`${series} = 0.23 > max 0.01 at {`)).toBe(true);
    expect(outcome.detail).toContain('pod="b"');
    expect(outcome.detail).toContain('(1 of 2 series out of bounds)');
  });

  it('holds an aggregate to both bounds', async () => {
    const outcome = await check({ query: `max(${series})`, min: 0.1, max: 0.2 });
    expect(outcome).toMatchObject({ ok: false, value: 0.23, threshold: 'between 0.1 and 0.2' });
    expect(outcome.detail).toBe(`max(${series}) = 0.23 > max 0.2`);
  });

  it("fails with Prometheus's error on a query with a syntax error", async () => {
    const outcome = await check({ query: `sum(${series}`, max: 1 });
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).toMatch(/Prometheus rejected the query \(bad_data\): .*parse error/);
  });

  it('fails when the query returns no data', async () => {
    const absent = `freshet_test_error_rate{suffix="absent-${suffix}"}`;
    const outcome = await check({ query: absent, max: 1 });
    expect(outcome).toMatchObject({ ok: false, detail: `${absent}: query returned no data` });
  });
});
