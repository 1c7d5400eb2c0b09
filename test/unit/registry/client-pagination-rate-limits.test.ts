// Link pagination, 429 and Retry-After against a test-only HTTP server on 127.0.0.1. The stack's
// Distribution 2.8 never paginates (it ignores `n`, sends no Link) and never rate-limits, so
// these behaviours of Docker Hub, GHCR and Harbor cannot be shown against it. Everything else
// the client does is tested end to end against the real registries (test/e2e/registry-client).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryClient, type RegistryClientOptions } from '../../../activities/registry/client.ts';
import { RegistryError } from '../../../activities/registry/errors.ts';
import type { RegistryRequestEvent } from '../../../activities/registry/transport.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server | undefined;

async function serve(handler: Handler): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

function client(url: string, events: RegistryRequestEvent[], extra: Partial<RegistryClientOptions> = {}) {
  return new RegistryClient({
    name: 'test',
    url,
    retryBaseDelayMs: 1,
    onRequest: (e) => events.push(e),
    ...extra,
  });
}

const artifact = `sha256-${'0'.repeat(64)}.sig`;

describe('listTags pagination', () => {
  it('follows Link headers, deduplicates, drops artifact tags and sorts', async () => {
    const pages: Record<string, { tags: string[]; next?: string }> = {
      '': { tags: ['b', 'a'], next: '/v2/acme/web/tags/list?n=1000&last=b' },
      b: { tags: ['b', 'd', artifact], next: '/v2/acme/web/tags/list?n=1000&last=d' },
      d: { tags: ['c'] },
    };
    const seen: string[] = [];
    const url = await serve((req, res) => {
      const query = new URL(req.url ?? '', 'http://x').searchParams;
      seen.push(req.url ?? '');
      const page = pages[query.get('last') ?? ''];
      if (!page) return json(res, 404, { errors: [{ code: 'NAME_UNKNOWN' }] });
      json(
        res,
        200,
        { name: 'acme/web', tags: page.tags },
        page.next ? { link: `<${page.next}>; rel="next"` } : {},
      );
    });
    const events: RegistryRequestEvent[] = [];
    await expect(client(url, events).listTags('acme/web')).resolves.toEqual({
      tags: ['a', 'b', 'c', 'd'],
      truncated: false,
    });
    expect(seen).toEqual([
      '/v2/acme/web/tags/list?n=1000',
      '/v2/acme/web/tags/list?n=1000&last=b',
      '/v2/acme/web/tags/list?n=1000&last=d',
    ]);
    expect(events.map((e) => `${e.method} ${e.endpoint} ${e.code}`)).toEqual(Array(3).fill('GET tags 200'));
  });

  it('stops at the limit and says the list is truncated', async () => {
    let requests = 0;
    const url = await serve((_req, res) => {
      requests++;
      const tags = Array.from({ length: 3 }, (_, i) => `t${requests}-${i}`);
      json(res, 200, { tags }, { link: `</v2/acme/web/tags/list?page=${requests + 1}>; rel="next"` });
    });
    const result = await client(url, []).listTags('acme/web', { limit: 5 });
    expect(result).toEqual({ tags: ['t1-0', 't1-1', 't1-2', 't2-0', 't2-1'], truncated: true });
    expect(requests).toBe(2);
  });

  it('stops when a page links back to a page already read', async () => {
    let requests = 0;
    const url = await serve((_req, res) => {
      requests++;
      json(res, 200, { tags: ['1'] }, { link: '</v2/acme/web/tags/list?n=1000>; rel="next"' });
    });
    await expect(client(url, []).listTags('acme/web')).resolves.toEqual({ tags: ['1'], truncated: false });
    expect(requests).toBe(1);
  });

  it('refuses a next link to another host, which would receive the credentials', async () => {
    const url = await serve((_req, res) => {
      json(
        res,
        200,
        { tags: ['1'] },
        { link: '<https://elsewhere.example/v2/acme/web/tags/list>; rel="next"' },
      );
    });
    await expect(client(url, []).listTags('acme/web')).rejects.toThrow(
      'registry test: GET acme/web tags → pagination link leaves the registry (https://elsewhere.example)',
    );
  });
});

describe('429 and Retry-After', () => {
  const digest = `sha256:${'1'.repeat(64)}`;
  const ok = (res: ServerResponse) => {
    res.writeHead(200, {
      'docker-content-digest': digest,
      'content-type': 'application/vnd.oci.image.manifest.v1+json',
    });
    res.end();
  };

  it('waits as long as Retry-After says, then succeeds', async () => {
    const arrivals: number[] = [];
    const url = await serve((_req, res) => {
      arrivals.push(Date.now());
      if (arrivals.length === 1) {
        res.writeHead(429, { 'retry-after': '1' });
        return res.end();
      }
      ok(res);
    });
    const events: RegistryRequestEvent[] = [];
    const resolved = await client(url, events).resolveDigest('acme/web', '1.4');
    expect(resolved.digest).toBe(digest);
    expect(events.map((e) => e.code)).toEqual(['429', '200']);
    expect((arrivals[1] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('holds back every request to the registry after a 429, not only the refused one', async () => {
    const arrivals: Record<string, number> = {};
    let refused = false;
    const url = await serve((req, res) => {
      const tag = req.url?.split('/').at(-1) ?? '';
      arrivals[tag] ??= Date.now();
      if (tag === 'a' && !refused) {
        refused = true;
        res.writeHead(429, { 'retry-after': '1' });
        return res.end();
      }
      ok(res);
    });
    let second: Promise<unknown> | undefined;
    const registry: RegistryClient = client(url, [], {
      onRequest: (e) => {
        if (e.code === '429') second = registry.resolveDigest('acme/web', 'b');
      },
    });
    await registry.resolveDigest('acme/web', 'a');
    await second;
    expect((arrivals.b ?? 0) - (arrivals.a ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('reads Retry-After as an HTTP date', async () => {
    let requests = 0;
    const url = await serve((_req, res) => {
      if (++requests === 1) {
        res.writeHead(429, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() });
        return res.end();
      }
      ok(res);
    });
    const err = await client(url, [], { maxRetryAfterMs: 30_000 })
      .resolveDigest('acme/web', '1.4')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).retryAfterMs).toBeGreaterThan(58_000);
  });

  it('gives a Retry-After longer than it waits back to the caller, as a retryable error', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(429, { 'retry-after': '120' });
      res.end();
    });
    const events: RegistryRequestEvent[] = [];
    const err = await client(url, events)
      .resolveDigest('acme/web', '1.4')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ status: 429, retryable: true, retryAfterMs: 120_000 });
    expect((err as Error).message).toBe(
      'registry test: HEAD acme/web:1.4 → 429 too many requests (rate limited by the registry) (asked to retry after 120 s)',
    );
    expect(events).toHaveLength(1);
  });

  it('fails fast, sending nothing, while the registry asked for a pause longer than it waits', async () => {
    let requests = 0;
    const url = await serve((_req, res) => {
      requests++;
      res.writeHead(429, { 'retry-after': '120' });
      res.end();
    });
    const registry = client(url, []);
    await expect(registry.resolveDigest('acme/web', 'a')).rejects.toThrow(/asked to retry after 120 s/);
    const err = await registry.resolveDigest('acme/web', 'b').catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, status: undefined });
    expect((err as RegistryError).retryAfterMs).toBeGreaterThan(110_000);
    expect((err as Error).message).toMatch(
      /^registry test: HEAD acme\/web:b → rate limited by the registry, paused for 1[12]\d s more$/,
    );
    expect(requests).toBe(1);
  });

  it('retries 429 without Retry-After with backoff, up to maxRetries', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(429);
      res.end();
    });
    const events: RegistryRequestEvent[] = [];
    const err = await client(url, events, { maxRetries: 2 })
      .resolveDigest('acme/web', '1.4')
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/→ 429 too many requests .* \(gave up after 3 attempts\)$/);
    expect(events.map((e) => e.code)).toEqual(['429', '429', '429']);
  });
});
