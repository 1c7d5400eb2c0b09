// How Prometheus query answers become outcomes, against a node:http server on 127.0.0.1 that
// answers with canned /api/v1/query JSON. Behaviour against a real Prometheus is in
// test/e2e/health-checks.test.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealthActivities } from '../../../activities/health/index.ts';
import {
  PrometheusUnavailableError,
  runPrometheusCheck,
} from '../../../activities/health/prometheus-check.ts';
import type { PrometheusCheckSpec } from '../../../activities/health/types.ts';
import { parseConfig } from '../../../config/load.ts';
import { configWithCheck } from './config-with-check.ts';

let server: Server | undefined;
const requests: string[] = [];

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A Prometheus that answers every query with `body` and `status`. */
const answering = (body: unknown, status = 200) =>
  serve((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  });

afterEach(async () => {
  requests.length = 0;
  const open = server;
  server = undefined;
  if (open) await new Promise((resolve) => open.close(resolve));
});

const t = 1_795_943_356.2;
const vector = (...samples: [Record<string, string>, string][]) => ({
  status: 'success',
  data: { resultType: 'vector', result: samples.map(([metric, v]) => ({ metric, value: [t, v] })) },
});
const scalar = (v: string) => ({ status: 'success', data: { resultType: 'scalar', result: [t, v] } });
const check = (url: string, extra: Partial<PrometheusCheckSpec> = {}): PrometheusCheckSpec => ({
  name: 'error rate',
  url,
  query: 'error_rate',
  max: 0.01,
  ...extra,
});

describe('runPrometheusCheck', () => {
  it('passes when every sample keeps the bound, reporting the worst', async () => {
    const url = await answering(vector([{ pod: 'a' }, '0.001'], [{ pod: 'b' }, '0.004']));
    const outcome = await runPrometheusCheck(check(url));
    expect(outcome).toMatchObject({
      name: 'error rate',
      kind: 'prometheus',
      ok: true,
      value: 0.004,
      threshold: '<= 0.01',
      detail: 'error_rate = 0.004 <= max 0.01 at {pod="b"} (worst of 2 series)',
    });
    expect(JSON.parse(JSON.stringify(outcome))).toEqual(outcome);
  });

  it('fails when any sample breaks the bound, naming the value, the bound and the series', async () => {
    const url = await answering(
      vector([{ pod: 'a' }, '0.001'], [{ pod: 'b' }, '0.23'], [{ pod: 'c' }, '0.05']),
    );
    const outcome = await runPrometheusCheck(check(url));
    expect(outcome).toMatchObject({
      ok: false,
      value: 0.23,
      detail: 'error_rate = 0.23 > max 0.01 at {pod="b"} (2 of 3 series out of bounds)',
    });
  });

  it('names a single series by the query alone', async () => {
    const url = await answering(vector([{}, '0.23']));
    expect((await runPrometheusCheck(check(url))).detail).toBe('error_rate = 0.23 > max 0.01');
  });

  it('holds samples to a minimum, and to both bounds', async () => {
    const url = await answering(vector([{ pod: 'a' }, '3'], [{ pod: 'b' }, '0']));
    expect(await runPrometheusCheck(check(url, { query: 'up_pods', max: undefined, min: 1 }))).toMatchObject({
      ok: false,
      value: 0,
      threshold: '>= 1',
      detail: 'up_pods = 0 < min 1 at {pod="b"} (1 of 2 series out of bounds)',
    });
    const both = await runPrometheusCheck(check(url, { query: 'up_pods', min: 0, max: 5 }));
    expect(both).toMatchObject({ ok: true, threshold: 'between 0 and 5' });
    expect(both.detail).toMatch(/^up_pods = 0, between 0 and 5 at \{pod="b"\}/);
  });

  it('fails when the query returns no data: a check that sees nothing must not pass', async () => {
    const url = await answering(vector());
    const outcome = await runPrometheusCheck(check(url));
    expect(outcome).toMatchObject({ ok: false, detail: 'error_rate: query returned no data' });
    expect(outcome.value).toBeUndefined();
  });

  it('judges a scalar', async () => {
    const url = await answering(scalar('0.5'));
    expect(await runPrometheusCheck(check(url, { query: 'scalar(x)', max: 1 }))).toMatchObject({
      ok: true,
      value: 0.5,
      detail: 'scalar(x) = 0.5 <= max 1',
    });
  });

  it('fails on NaN and reports non-finite values as text, which JSON can carry', async () => {
    const nan = await runPrometheusCheck(check(await answering(scalar('NaN'))));
    expect(nan).toMatchObject({ ok: false, value: 'NaN' });
    expect(nan.detail).toBe('error_rate = NaN, not a number (cannot hold it to <= 0.01)');
    await new Promise((resolve) => server?.close(resolve));
    const inf = await runPrometheusCheck(
      check(await answering(vector([{ a: '1' }, '0'], [{ a: '2' }, '+Inf']))),
    );
    expect(inf).toMatchObject({ ok: false, value: '+Inf' });
  });

  it('fails a NaN sample even when the other samples pass', async () => {
    const url = await answering(vector([{ pod: 'a' }, '0'], [{ pod: 'b' }, 'NaN']));
    expect(await runPrometheusCheck(check(url))).toMatchObject({ ok: false, value: 'NaN' });
  });

  it("fails with Prometheus's own error when it rejects the query", async () => {
    const url = await answering(
      {
        status: 'error',
        errorType: 'bad_data',
        error: 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis',
      },
      400,
    );
    const outcome = await runPrometheusCheck(check(url, { query: 'sum(' }));
    expect(outcome).toMatchObject({
      ok: false,
      detail:
        'sum(: Prometheus rejected the query (bad_data): invalid parameter "query": 1:5: parse error: unclosed left parenthesis',
    });
  });

  it('fails on an execution error (422)', async () => {
    const url = await answering(
      { status: 'error', errorType: 'execution', error: 'many-to-many matching' },
      422,
    );
    expect((await runPrometheusCheck(check(url))).detail).toMatch(
      /rejected the query \(execution\): many-to-many/,
    );
  });

  it('fails on a 4xx that is not from Prometheus, quoting the body', async () => {
    const url = await answering('<html>401 Authorization Required</html>', 401);
    expect(await runPrometheusCheck(check(url))).toMatchObject({
      ok: false,
      detail: 'error_rate: Prometheus answered 401: <html>401 Authorization Required</html>',
    });
  });

  it('fails on an answer that is not a query result', async () => {
    const url = await answering('<html>a login page</html>');
    const outcome = await runPrometheusCheck(check(url));
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).toMatch(/not a query result: <html>a login page/);
  });

  it('fails on a range vector', async () => {
    const url = await answering({ status: 'success', data: { resultType: 'matrix', result: [] } });
    expect((await runPrometheusCheck(check(url, { query: 'x[5m]' }))).detail).toMatch(
      /x\[5m\]: .*range vector/,
    );
  });

  it('throws a retryable error when Prometheus fails (5xx), so the activity is retried', async () => {
    const url = await answering({ status: 'error', errorType: 'timeout', error: 'query timed out' }, 503);
    const error = await runPrometheusCheck(check(url)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PrometheusUnavailableError);
    expect((error as Error).message).toBe(
      `prometheus ${url}/: query error_rate → 503 (timeout): query timed out`,
    );
  });

  it('throws a retryable error when Prometheus cannot be reached, without its credentials', async () => {
    const url = await answering(vector());
    await new Promise((resolve) => server?.close(resolve));
    const error = await runPrometheusCheck(check(`${url}/?token=zz99`, { query: 'up' }), {
      credentials: { headers: { authorization: 'Bearer tk5151' }, secrets: ['tk5151'] },
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PrometheusUnavailableError);
    expect((error as Error).message).toBe(
      `prometheus ${url}/?token=[redacted]: query up → connection refused`,
    );
    expect((error as Error).message).not.toContain('tk5151');
  });

  it('sends the credentials it is given with the query', async () => {
    const seen: (string | undefined)[] = [];
    const url = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(req.headers.authorization === 'Bearer tk5151' ? 200 : 401, {
        'content-type': 'application/json',
      });
      res.end(JSON.stringify(vector([{}, '0'])));
    });
    const credentials = { headers: { authorization: 'Bearer tk5151' }, secrets: ['tk5151'] };
    expect(await runPrometheusCheck(check(url), { credentials })).toMatchObject({ ok: true, value: 0 });
    expect(seen).toEqual(['Bearer tk5151']);
  });

  it('refuses a URL that carries credentials without sending anything', async () => {
    const url = await answering(vector([{}, '0']));
    const outcome = await runPrometheusCheck(check(url.replace('//', '//admin:pw4242@')));
    expect(outcome).toMatchObject({
      ok: false,
      detail:
        'error_rate: not sent: the URL carries credentials (user:password@); configure basicAuth instead',
    });
    expect(requests).toEqual([]);
  });

  it('queries /api/v1/query under the base URL, keeping its path and parameters', async () => {
    const url = await answering(vector([{}, '0']));
    await runPrometheusCheck(check(`${url}/prom/?tenant=a`, { query: 'sum(rate(x{job="a b"}[5m])) > 0' }));
    await runPrometheusCheck(check(url));
    const [withPath, plain] = requests.map((r) => new URL(r, 'http://prometheus'));
    expect(withPath?.pathname).toBe('/prom/api/v1/query');
    expect([...(withPath?.searchParams ?? [])]).toEqual([
      ['tenant', 'a'],
      ['query', 'sum(rate(x{job="a b"}[5m])) > 0'],
    ]);
    expect(plain?.pathname + (plain?.search ?? '')).toBe('/api/v1/query?query=error_rate');
  });

  it('writes a multi-line query on one line in details', async () => {
    const url = await answering(vector());
    const outcome = await runPrometheusCheck(check(url, { query: 'sum(\n  rate(x[5m])\n)' }));
    expect(outcome.detail).toBe('sum( rate(x[5m]) ): query returned no data');
  });
});

describe('createHealthActivities', () => {
  it('dispatches prometheus checks the config has', async () => {
    const url = await answering(vector([{}, '0']));
    const config = parseConfig(
      configWithCheck(`{ name: error rate, prometheus: { url: "${url}", query: error_rate, max: 0.01 } }`),
      't',
      { env: {} },
    );
    const outcome = await createHealthActivities({ config }).runHealthCheck({
      kind: 'prometheus',
      prometheus: check(url),
      source: { pipeline: 'web', stage: 'staging' },
    });
    expect(outcome).toMatchObject({ kind: 'prometheus', ok: true, value: 0 });
  });
});
