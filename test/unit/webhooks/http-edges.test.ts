// The HTTP server at its edges, over real sockets: request targets are routed as sent (no
// client-side URL normalisation, so node:net writes them byte for byte), a webhook token is
// checked before the body is read, bodies read before their sender is known are few at a time,
// connections are capped, and every refusal is counted by source and reason.
import { createHmac } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpServer } from '../../../worker/http.ts';
import { maxWebhookBodyBytes } from '../../../worker/webhooks/handler.ts';
import { createWebhookMetrics } from '../../../worker/webhooks/metrics.ts';
import { sampleValue } from '../../support/metrics.ts';
import { dockerHubPush, ghcrPackageEvent } from './payloads.ts';
import { distributionHeaders, pushBody, secrets, sendPartially, startTestServer } from './test-server.ts';

type RawAnswer = { status: number; text: string };

/** Writes `head` (and `body`) on a fresh socket exactly as given, and reads until the server closes. */
function rawRequest(port: number, head: string, body = ''): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0), text }));
    socket.on('error', reject);
    socket.write(`${head}\r\nHost: freshet\r\nConnection: close\r\n\r\n${body}`);
  });
}

const get = (port: number, target: string) => rawRequest(port, `GET ${target} HTTP/1.1`);

const ghcrBody = JSON.stringify(ghcrPackageEvent());
const ghcrHeaders = (body: string) => ({
  'content-type': 'application/json',
  'x-github-event': 'package',
  'x-hub-signature-256': `sha256=${createHmac('sha256', secrets.ghcr ?? '')
    .update(body)
    .digest('hex')}`,
});

describe('the HTTP server routes the raw path, decoded once', () => {
  let server: HttpServer;

  beforeAll(async () => {
    ({ server } = await startTestServer());
  });
  afterAll(() => server.close());

  it('serves /metrics at its own path only', async () => {
    const metrics = await get(server.port, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('freshet_webhook_test_total 3');
    expect((await get(server.port, '/metrics?format=text')).status).toBe(200);
  });

  it.each([
    ['/webhooks/%2e%2e/metrics', 400],
    ['/webhooks/%2E%2E/metrics', 400],
    ['/webhooks/.%2e/metrics', 400],
    ['/webhooks/..%2fmetrics', 400],
    ['/webhooks/..%2Fmetrics', 400],
    ['/webhooks/..%5cmetrics', 400],
    ['/webhooks/distribution/../../metrics', 400],
    ['/webhooks/../metrics', 400],
    ['/./metrics', 400],
    ['/metrics/.', 400],
    ['/metrics%00', 400],
    ['/webhooks\\..\\metrics', 400],
    ['/webhooks/%zz/metrics', 400],
    ['http://freshet/metrics', 400],
    ['*', 400],
    ['//metrics', 404],
    ['/metrics/', 404],
    ['/metrics//', 404],
    ['/webhooks//metrics', 404],
    ['/webhooks/%252e%252e/metrics', 404],
  ])('never serves /metrics for %s (answers %i)', async (target, status) => {
    for (const method of ['GET', 'POST']) {
      const answer = await rawRequest(server.port, `${method} ${target} HTTP/1.1`, '');
      expect(answer.status, `${method} ${target}`).toBe(status);
      expect(answer.text).not.toContain('freshet_webhook_test_total');
    }
  });

  it('names what is wrong with a path that is not in normal form', async () => {
    const answer = await get(server.port, '/webhooks/%2e%2e/metrics');
    expect(answer.text).toContain('{"error":"request path is not in normal form"}');
  });

  it('still routes a webhook whose query carries the token', async () => {
    const body = JSON.stringify(dockerHubPush);
    const answer = await rawRequest(
      server.port,
      `POST /webhooks/dockerhub?token=${secrets.dockerhub} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}`,
      body,
    );
    expect(answer.status).toBe(202);
  });
});

describe('the HTTP server checks a webhook token before reading the body', () => {
  let server: HttpServer;
  let state: Awaited<ReturnType<typeof startTestServer>>['state'];

  beforeAll(async () => {
    // A long request timeout: an answer can only come early if the server did not wait for the body.
    ({ server, state } = await startTestServer({ timeouts: { requestMs: 60_000 } }));
  });
  afterAll(() => server.close());
  beforeEach(() => {
    state.forwarded.length = 0;
    state.refused.length = 0;
  });

  const oneMiB = { 'content-length': String(maxWebhookBodyBytes) };

  it.each([
    [
      'a wrong Bearer token',
      '/webhooks/distribution',
      { ...distributionHeaders, authorization: 'Bearer nope' },
    ],
    [
      'no token',
      '/webhooks/distribution',
      { 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
    ],
    ['a wrong token in the query', '/webhooks/dockerhub?token=nope', { 'content-type': 'application/json' }],
    ['no signature', '/webhooks/ghcr', { 'content-type': 'application/json', 'x-github-event': 'package' }],
    [
      'a malformed signature',
      '/webhooks/ghcr',
      { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=zz' },
    ],
  ])('answers 401 to %s after the first bytes of a 1 MiB body, and closes', async (_, path, headers) => {
    const started = Date.now();
    const answer = await sendPartially(server, path, { ...headers, ...oneMiB }, [Buffer.alloc(1024, 0x20)]);
    expect(answer.status).toBe(401);
    expect(answer.headers.connection).toBe('close');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(state.forwarded).toEqual([]);
    expect(state.refused).toEqual([{ source: path.split(/[/?]/)[2], reason: 'unauthorized' }]);
  });

  it('answers 404 to an unconfigured source without reading its body', async () => {
    const answer = await sendPartially(server, '/webhooks/harbor', { ...distributionHeaders, ...oneMiB }, [
      Buffer.alloc(1024, 0x20),
    ]);
    expect(answer.status).toBe(404);
    expect(state.refused).toEqual([{ source: 'harbor', reason: 'unknown_source' }]);
  });

  it('still reads and checks a signed body in full', async () => {
    const bad = await fetch(`${server.url}/webhooks/ghcr`, {
      method: 'POST',
      headers: ghcrHeaders('another body'),
      body: ghcrBody,
    });
    expect(bad.status).toBe(401);
    const good = await fetch(`${server.url}/webhooks/ghcr`, {
      method: 'POST',
      headers: ghcrHeaders(ghcrBody),
      body: ghcrBody,
    });
    expect(good.status).toBe(202);
    expect(state.forwarded).toHaveLength(1);
    expect(state.refused).toEqual([{ source: 'ghcr', reason: 'unauthorized' }]);
  });
});

describe('the HTTP server under many unauthenticated bodies and connections', () => {
  it('reads at most N unauthenticated bodies at once and answers 503 with Retry-After beyond', async () => {
    const { server, state } = await startTestServer({
      limits: { unauthenticatedBodies: 2 },
      timeouts: { requestMs: 60_000 },
    });
    const held: Socket[] = [];
    try {
      // Two signed requests whose bodies never finish hold both places.
      for (let i = 0; i < 2; i++) {
        const socket = connect(server.port, '127.0.0.1');
        held.push(socket);
        const headers = Object.entries({
          ...ghcrHeaders(ghcrBody),
          'content-length': String(ghcrBody.length),
        })
          .map(([k, v]) => `${k}: ${v}`)
          .join('\r\n');
        socket.write(
          `POST /webhooks/ghcr HTTP/1.1\r\nHost: freshet\r\n${headers}\r\n\r\n${ghcrBody.slice(0, 10)}`,
        );
      }
      await sleep(200);
      const third = await fetch(`${server.url}/webhooks/ghcr`, {
        method: 'POST',
        headers: ghcrHeaders(ghcrBody),
        body: ghcrBody,
      });
      expect(third.status).toBe(503);
      expect(third.headers.get('retry-after')).toBe('1');
      expect(await third.json()).toEqual({ error: 'too many webhook requests at once; retry later' });
      expect(state.refused).toEqual([{ source: 'ghcr', reason: 'busy' }]);

      // A source whose token is checked first is not held up by them.
      const tokenSource = await fetch(`${server.url}/webhooks/distribution`, {
        method: 'POST',
        headers: distributionHeaders,
        body: pushBody,
      });
      expect(tokenSource.status).toBe(202);

      // Their places are free again once those clients go.
      for (const socket of held) socket.destroy();
      let after = 0;
      for (let attempt = 0; attempt < 50 && after !== 202; attempt++) {
        await sleep(20);
        after = (
          await fetch(`${server.url}/webhooks/ghcr`, {
            method: 'POST',
            headers: ghcrHeaders(ghcrBody),
            body: ghcrBody,
          })
        ).status;
      }
      expect(after).toBe(202);
    } finally {
      for (const socket of held) socket.destroy();
      await server.close();
    }
  });

  it('drops connections beyond the cap and accepts again when one goes', async () => {
    const { server } = await startTestServer({ limits: { connections: 3 } });
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const socket = connect(server.port, '127.0.0.1');
        idle.push(socket);
        await new Promise((resolve) => socket.once('connect', resolve));
      }
      await sleep(50);
      const beyond = await get(server.port, '/healthz');
      expect(beyond).toEqual({ status: 0, text: '' });

      idle.pop()?.destroy();
      let again = await get(server.port, '/healthz');
      for (let attempt = 0; attempt < 50 && again.status !== 200; attempt++) {
        await sleep(20);
        again = await get(server.port, '/healthz');
      }
      expect(again.status).toBe(200);
    } finally {
      for (const socket of idle) socket.destroy();
      await server.close();
    }
  });
});

describe('freshet_webhooks_refused_total', () => {
  it('counts refusals by known source or other, and reason, from 0', async () => {
    const registry = new Registry();
    const metrics = createWebhookMetrics(registry);
    metrics.refused('ghcr', 'unauthorized');
    metrics.refused('ghcr', 'unauthorized');
    metrics.refused('..%2fmetrics', 'unknown_source');
    metrics.refused('__proto__', 'unknown_source');
    const text = await registry.metrics();
    expect(
      sampleValue(text, 'freshet_webhooks_refused_total', { source: 'ghcr', reason: 'unauthorized' }),
    ).toBe(2);
    expect(
      sampleValue(text, 'freshet_webhooks_refused_total', { source: 'other', reason: 'unknown_source' }),
    ).toBe(2);
    expect(sampleValue(text, 'freshet_webhooks_refused_total', { source: 'quay', reason: 'busy' })).toBe(0);
    const sources = new Set([...text.matchAll(/source="([^"]*)"/g)].map((m) => m[1]));
    expect([...sources].sort()).toEqual(['distribution', 'dockerhub', 'ghcr', 'harbor', 'other', 'quay']);
  });
});
