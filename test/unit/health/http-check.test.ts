// HTTP checks against a real node:http server on 127.0.0.1: an outcome is a pure function of the
// answer (or its absence), so no fetch is mocked.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bodyMatchLimit, runHttpCheck } from '../../../activities/health/http-check.ts';
import { createHealthActivities } from '../../../activities/health/index.ts';
import type { HttpCheckSpec } from '../../../activities/health/types.ts';
import { parseConfig } from '../../../config/load.ts';
import { configWithCheck } from './config-with-check.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server | undefined;

async function serve(handler: Handler): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  const open = server;
  server = undefined;
  if (!open) return;
  open.closeAllConnections();
  await new Promise((resolve) => open.close(resolve));
});

/** A URL nothing listens on: a server's port, closed again. */
async function refusingUrl(): Promise<string> {
  const base = await serve(() => {});
  const open = server;
  server = undefined;
  await new Promise((resolve) => open?.close(resolve));
  return base;
}

const check = (url: string, extra: Partial<HttpCheckSpec> = {}): HttpCheckSpec => ({
  name: 'web healthz',
  url,
  expectStatus: 200,
  timeoutMs: 2_000,
  ...extra,
});

describe('runHttpCheck', () => {
  it('passes on the expected status and reports it as plain JSON data', async () => {
    const base = await serve((_req, res) => res.writeHead(200).end('ok'));
    const outcome = await runHttpCheck(check(`${base}/healthz`));
    expect(outcome).toMatchObject({
      name: 'web healthz',
      kind: 'http',
      ok: true,
      value: 200,
      threshold: 'status 200',
      detail: `GET ${base}/healthz → 200`,
    });
    expect(new Date(outcome.at).toISOString()).toBe(outcome.at);
    expect(JSON.parse(JSON.stringify(outcome))).toEqual(outcome);
  });

  it('fails on another status and says which was expected', async () => {
    const base = await serve((_req, res) => res.writeHead(503).end('down'));
    const outcome = await runHttpCheck(check(`${base}/healthz`));
    expect(outcome).toMatchObject({
      ok: false,
      value: 503,
      detail: `GET ${base}/healthz → 503, expected 200`,
    });
  });

  it('passes when the expected status is not 200', async () => {
    const base = await serve((_req, res) => res.writeHead(204).end());
    expect(await runHttpCheck(check(base, { expectStatus: 204 }))).toMatchObject({ ok: true, value: 204 });
  });

  it('matches the body against bodyMatch', async () => {
    const base = await serve((req, res) =>
      res.writeHead(200).end(req.url === '/good' ? '{"status":"ok"}' : '{"status":"degraded"}'),
    );
    const good = await runHttpCheck(check(`${base}/good`, { bodyMatch: '"status":\\s*"ok"' }));
    expect(good).toMatchObject({ ok: true, threshold: 'status 200, body ~ /"status":\\s*"ok"/' });
    const bad = await runHttpCheck(check(`${base}/bad`, { bodyMatch: '"status":\\s*"ok"' }));
    expect(bad).toMatchObject({ ok: false, value: 200 });
    expect(bad.detail).toBe(`GET ${base}/bad → 200, body does not match /"status":\\s*"ok"/`);
  });

  it('matches only the first 64 KiB, and does not wait for a body that never ends', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200);
      res.write('x'.repeat(bodyMatchLimit));
      res.write('MARKER');
    });
    const outcome = await runHttpCheck(check(base, { bodyMatch: 'MARKER', timeoutMs: 5_000 }));
    expect(outcome).toMatchObject({ ok: false, detail: `GET ${base}/ → 200, body does not match /MARKER/` });
  });

  it('fails without sending a request when bodyMatch is not a regular expression', async () => {
    let requests = 0;
    const base = await serve((_req, res) => {
      requests++;
      res.writeHead(200).end();
    });
    const outcome = await runHttpCheck(check(base, { bodyMatch: '(unclosed' }));
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).toMatch(/not sent: bodyMatch is not a valid regular expression/);
    expect(requests).toBe(0);
  });

  it('fails when the endpoint does not answer in time', async () => {
    const base = await serve(() => {});
    const started = Date.now();
    const outcome = await runHttpCheck(check(`${base}/slow`, { timeoutMs: 200 }));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(outcome).toMatchObject({ ok: false, detail: `GET ${base}/slow timed out after 200ms` });
    expect(outcome.value).toBeUndefined();
  });

  it('fails when the connection is refused', async () => {
    const base = await refusingUrl();
    const outcome = await runHttpCheck(check(`${base}/healthz`));
    expect(outcome).toMatchObject({ ok: false, detail: `GET ${base}/healthz → connection refused` });
  });

  it('sends the credentials it is given and keeps them and secret parameters out of the detail', async () => {
    const seen: { authorization?: string; token?: string | string[]; url?: string }[] = [];
    const base = await serve((req, res) => {
      seen.push({ authorization: req.headers.authorization, token: req.headers['x-token'], url: req.url });
      res.writeHead(500).end();
    });
    const basic = Buffer.from('ops:s3cr@t').toString('base64');
    const credentials = {
      headers: { authorization: `Basic ${basic}`, 'x-token': 'tok123' },
      secrets: ['s3cr@t', basic, 'tok123'],
    };
    const url = `${base}/healthz?x=1&api_key=k9k9&Password=pw77`;
    const outcome = await runHttpCheck(check(url), { credentials });
    expect(seen).toEqual([
      { authorization: `Basic ${basic}`, token: 'tok123', url: '/healthz?x=1&api_key=k9k9&Password=pw77' },
    ]);
    expect(outcome.detail).toBe(
      `GET ${base}/healthz?x=1&api_key=[redacted]&Password=[redacted] → 500, expected 200`,
    );
    for (const secret of ['s3cr', basic, 'tok123', 'k9k9', 'pw77'])
      expect(outcome.detail).not.toContain(secret);
  });

  it('keeps credentials out of the detail when no answer comes', async () => {
    const base = await refusingUrl();
    const outcome = await runHttpCheck(check(`${base}/?secret=abc987`), {
      credentials: { headers: { 'x-token': 'hunter2' }, secrets: ['hunter2'] },
    });
    expect(outcome.detail).toBe(`GET ${base}/?secret=[redacted] → connection refused`);
  });

  it('scrubs a credential that an error message quotes', async () => {
    const base = await serve((_req, res) => res.writeHead(200).end());
    // A header value fetch refuses: its error quotes the value.
    const outcome = await runHttpCheck(check(`${base}/`), {
      credentials: { headers: { 'x-token': 'hunter2\nx' }, secrets: ['hunter2\nx', 'hunter2'] },
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).not.toContain('hunter2');
  });

  it('refuses a URL that carries credentials without sending anything', async () => {
    let requests = 0;
    const base = await serve((_req, res) => {
      requests++;
      res.writeHead(200).end();
    });
    const outcome = await runHttpCheck(check(base.replace('//', '//u:hunter2@')));
    expect(outcome).toMatchObject({
      ok: false,
      detail: 'GET not sent: the URL carries credentials (user:password@); configure basicAuth instead',
    });
    expect(requests).toBe(0);
  });

  it('fails on a URL that does not parse, without echoing it', async () => {
    const outcome = await runHttpCheck(check('http://u:hunter2@[bad'));
    expect(outcome).toMatchObject({ ok: false, detail: 'GET not sent: the URL does not parse' });
  });
});

describe('createHealthActivities', () => {
  it('dispatches http checks, through the fetch it was given', async () => {
    const base = await serve((_req, res) => res.writeHead(200).end('ok'));
    const fetched: string[] = [];
    const config = parseConfig(
      configWithCheck(`{ name: web healthz, http: { url: "${base}/healthz" } }`),
      't',
      {
        env: {},
      },
    );
    const activities = createHealthActivities({
      config,
      fetch: (input, init) => {
        fetched.push(String(input));
        return fetch(input, init);
      },
    });
    const outcome = await activities.runHealthCheck({ kind: 'http', http: check(`${base}/healthz`) });
    expect(outcome).toMatchObject({ kind: 'http', ok: true });
    expect(fetched).toEqual([`${base}/healthz`]);
  });
});
