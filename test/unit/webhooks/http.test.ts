// The HTTP server's routes and status codes, over real sockets.
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpServer } from '../../../worker/http.ts';
import { maxWebhookBodyBytes } from '../../../worker/webhooks/handler.ts';
import {
  distributionEnvelope,
  distributionEvent,
  dockerHubPush,
  ghcrPackageEvent,
  webDigest,
} from './payloads.ts';
import { distributionHeaders, pushBody, secrets, sendPartially, startTestServer } from './test-server.ts';

describe('the HTTP server', () => {
  let server: HttpServer;
  let state: Awaited<ReturnType<typeof startTestServer>>['state'];
  const url = (path: string) => `${server.url}${path}`;
  const post = (path: string, body: string, headers: Record<string, string> = distributionHeaders) =>
    fetch(url(path), { method: 'POST', headers, body });

  beforeAll(async () => {
    ({ server, state } = await startTestServer());
  });
  afterAll(() => server.close());
  beforeEach(() => {
    state.forwarded.length = 0;
    state.logs.length = 0;
    state.healthy = true;
    state.readiness = { ok: true, checks: { temporal: 'ok', config: 'ok' } };
  });

  it('listens on the port it reports', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('answers /healthz with 200, or 503 when unhealthy', async () => {
    const ok = await fetch(url('/healthz'));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok' });
    state.healthy = false;
    const bad = await fetch(url('/healthz'));
    expect(bad.status).toBe(503);
    expect(await bad.json()).toEqual({ status: 'unhealthy' });
  });

  it('answers /readyz with 200 and the checks, or 503 naming the failing check', async () => {
    const ok = await fetch(url('/readyz'));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ready: true, checks: { temporal: 'ok', config: 'ok' } });
    state.readiness = { ok: false, checks: { temporal: 'unreachable: connect ECONNREFUSED', config: 'ok' } };
    const bad = await fetch(url('/readyz'));
    expect(bad.status).toBe(503);
    expect(await bad.json()).toEqual({
      ready: false,
      checks: { temporal: 'unreachable: connect ECONNREFUSED', config: 'ok' },
    });
  });

  it('serves /metrics in the Prometheus text format', async () => {
    const res = await fetch(url('/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# TYPE freshet_webhook_test_total counter');
    expect(text).toMatch(/^freshet_webhook_test_total 3$/m);
  });

  it('answers 405 with Allow for wrong methods and 404 for other paths', async () => {
    const postMetrics = await fetch(url('/metrics'), { method: 'POST', body: '' });
    expect(postMetrics.status).toBe(405);
    expect(postMetrics.headers.get('allow')).toBe('GET, HEAD');
    const getWebhook = await fetch(url('/webhooks/distribution'));
    expect(getWebhook.status).toBe(405);
    expect(getWebhook.headers.get('allow')).toBe('POST');
    for (const path of [
      '/',
      '/nope',
      '/webhooks',
      '/webhooks/',
      '/webhooks/distribution/extra',
      '/metrics/x',
    ]) {
      expect((await fetch(url(path))).status, path).toBe(404);
    }
  });

  it('answers 400 to a request target that is not a URL path', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1');
      let received = '';
      socket.on('data', (data) => {
        received += data.toString();
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      socket.write('GET //[ HTTP/1.1\r\nHost: freshet\r\nConnection: close\r\n\r\n');
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('{"error":"malformed request target"}');
  });

  it('answers 404 for unknown sources and sources without a secret, forwarding nothing', async () => {
    expect((await post('/webhooks/gitlab', pushBody)).status).toBe(404);
    expect((await post('/webhooks/harbor', pushBody)).status).toBe(404);
    expect(state.forwarded).toEqual([]);
  });

  it('forwards exactly the hints of a push and answers 202 accepted', async () => {
    const res = await post('/webhooks/distribution', pushBody);
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ status: 'accepted', hints: 1 });
    expect(state.forwarded).toEqual([
      [
        {
          source: 'distribution',
          registryHost: '127.0.0.1:5000',
          repository: 'acme/web',
          tag: '1.4',
          digest: webDigest,
        },
      ],
    ]);
  });

  it('answers 202 ignored for pushes of unwatched repositories and for events that are not pushes', async () => {
    const unwatched = JSON.stringify(distributionEnvelope(distributionEvent({ repository: 'acme/other' })));
    const first = await post('/webhooks/distribution', unwatched);
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ status: 'ignored', hints: 1 });
    expect(state.forwarded).toHaveLength(1);

    const pull = JSON.stringify(distributionEnvelope(distributionEvent({ action: 'pull' })));
    const second = await post('/webhooks/distribution', pull);
    expect(second.status).toBe(202);
    expect(await second.json()).toMatchObject({ status: 'ignored', hints: 0 });
    expect(state.forwarded).toHaveLength(1);
  });

  it('answers 401 and 400 for bad requests without forwarding anything', async () => {
    const { authorization: _, ...noAuth } = distributionHeaders;
    expect((await post('/webhooks/distribution', pushBody, noAuth)).status).toBe(401);
    const wrong = { ...distributionHeaders, authorization: 'Bearer dist-token-7Qm3' };
    expect((await post('/webhooks/distribution', pushBody, wrong)).status).toBe(401);
    const malformed = await post('/webhooks/distribution', '{"events": [');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: 'malformed JSON' });
    const wrongShape = await post('/webhooks/distribution', JSON.stringify({ events: [{ target: {} }] }));
    expect(wrongShape.status).toBe(400);
    expect(await wrongShape.json()).toMatchObject({
      reason: expect.stringMatching(/^events\[0\]\.action: /),
    });
    expect(state.forwarded).toEqual([]);
  });

  it('takes the Docker Hub token from the query and never logs it', async () => {
    const headers = { 'content-type': 'application/json' };
    const body = JSON.stringify(dockerHubPush);
    expect((await post('/webhooks/dockerhub?token=hub-token-Zp90', body, headers)).status).toBe(401);
    expect((await post(`/webhooks/dockerhub?token=${secrets.dockerhub}`, body, headers)).status).toBe(202);
    expect(state.forwarded).toEqual([[{ source: 'dockerhub', repository: 'acme/web', tag: '1.4' }]]);
    const logged = JSON.stringify(state.logs);
    expect(logged).toContain('dockerhub');
    expect(logged).not.toContain('hub-token-Zp9');
  });

  it('checks the GitHub signature over the bytes received', async () => {
    const body = JSON.stringify(ghcrPackageEvent());
    const sign = (key: string) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
    const headers = (signature: string) => ({
      'content-type': 'application/json',
      'x-github-event': 'package',
      'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'x-hub-signature-256': signature,
    });
    expect((await post('/webhooks/ghcr', body, headers(sign('wrong')))).status).toBe(401);
    expect((await post('/webhooks/ghcr', `${body} `, headers(sign(secrets.ghcr ?? '')))).status).toBe(401);
    expect((await post('/webhooks/ghcr', body, headers(sign(secrets.ghcr ?? '')))).status).toBe(202);
    expect(state.forwarded).toEqual([
      [
        {
          source: 'ghcr',
          registryHost: 'ghcr.io',
          repository: 'octo-org/hello-world',
          tag: '1.4',
          digest: webDigest,
        },
      ],
    ]);
  });

  it('accepts a body of exactly the limit', async () => {
    const body = pushBody.padEnd(maxWebhookBodyBytes, ' ');
    const res = await post('/webhooks/distribution', body);
    expect(res.status).toBe(202);
    expect(state.forwarded).toHaveLength(1);
  });

  it('answers 413 to a declared oversize body before the client has sent it', async () => {
    const answer = await sendPartially(
      server,
      '/webhooks/distribution',
      { ...distributionHeaders, 'content-length': String(2 * maxWebhookBodyBytes) },
      [Buffer.from(pushBody)],
    );
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
    expect(JSON.parse(answer.body)).toEqual({ error: `body larger than ${maxWebhookBodyBytes} bytes` });
    expect(state.forwarded).toEqual([]);
  });

  it('answers 413 as soon as a streamed body passes the limit, without waiting for its end', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const chunks = Array.from({ length: maxWebhookBodyBytes / chunk.length }, () => chunk);
    chunks.push(Buffer.from('x'));
    // Never ended: a server that waited for the whole body would never answer.
    const answer = await sendPartially(
      server,
      '/webhooks/distribution',
      { ...distributionHeaders, 'transfer-encoding': 'chunked' },
      chunks,
    );
    expect(answer.status).toBe(413);
    expect(state.forwarded).toEqual([]);
  });
});
