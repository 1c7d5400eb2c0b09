import { describe, expect, it } from 'vitest';
import { checkSpecsFromConfig } from '../../../activities/health/check-specs.ts';
import type { CheckConfig } from '../../../config/schema.ts';

const prometheus = { url: 'http://prometheus:9090', interval: 15_000 };

describe('checkSpecsFromConfig', () => {
  it('keeps given names and maps durations (already ms) to timeoutMs', () => {
    const checks: CheckConfig[] = [
      {
        name: 'web healthz',
        http: { url: 'https://web.example/healthz', expectStatus: 204, bodyMatch: 'ok', timeout: 2_000 },
      },
      { name: 'errors', prometheus: { ...prometheus, query: 'error_rate', max: 0.01, min: 0 } },
    ];
    expect(checkSpecsFromConfig(checks)).toEqual([
      {
        kind: 'http',
        http: {
          name: 'web healthz',
          url: 'https://web.example/healthz',
          expectStatus: 204,
          bodyMatch: 'ok',
          timeoutMs: 2_000,
        },
      },
      {
        kind: 'prometheus',
        prometheus: { name: 'errors', url: 'http://prometheus:9090', query: 'error_rate', max: 0.01, min: 0 },
      },
    ]);
  });

  it('names an unnamed http check by host and path, never credentials or query', () => {
    const [spec] = checkSpecsFromConfig([
      { http: { url: 'https://u:pw@web.example:8443/healthz?token=abc', expectStatus: 200, timeout: 5_000 } },
    ]);
    expect(spec).toEqual({
      kind: 'http',
      http: {
        name: 'http web.example:8443/healthz',
        url: 'https://u:pw@web.example:8443/healthz?token=abc',
        expectStatus: 200,
        timeoutMs: 5_000,
      },
    });
    const [root] = checkSpecsFromConfig([{ http: { url: 'http://web/', expectStatus: 200, timeout: 1 } }]);
    expect(root?.kind === 'http' && root.http.name).toBe('http web');
  });

  it('names an unnamed prometheus check by its query, on one line and at most 60 characters', () => {
    const long = `sum(rate(http_requests_total{code=~"5..",job="web"}[5m]))\n  / sum(rate(http_requests_total{job="web"}[5m]))`;
    const specs = checkSpecsFromConfig([
      { prometheus: { ...prometheus, query: 'up', min: 1 } },
      { prometheus: { ...prometheus, query: long, max: 0.01 } },
    ]);
    const names = specs.map((s) => (s.kind === 'prometheus' ? s.prometheus.name : ''));
    expect(names[0]).toBe('prometheus up');
    expect(names[1]).toBe('prometheus sum(rate(http_requests_total{code=~"5..",job="web"}[5m])) /…');
    expect(names[1]?.length).toBe('prometheus '.length + 60);
    expect(specs[0]).toEqual({
      kind: 'prometheus',
      prometheus: { name: 'prometheus up', url: 'http://prometheus:9090', query: 'up', min: 1 },
    });
  });

  it('rejects a check that is neither http nor prometheus (the schema already does)', () => {
    expect(() => checkSpecsFromConfig([{ name: 'empty' }])).toThrow(/neither http nor prometheus/);
  });

  it('numbers checks whose names would collide, so status keeps each one', () => {
    const specs = checkSpecsFromConfig([
      { http: { url: 'http://web/healthz', expectStatus: 200, timeout: 1_000 } },
      { http: { url: 'http://web/healthz', expectStatus: 204, timeout: 1_000 } },
      { name: 'http web/healthz', prometheus: { ...prometheus, query: 'up', min: 1 } },
    ]);
    expect(specs.map((s) => (s.kind === 'http' ? s.http.name : s.prometheus.name))).toEqual([
      'http web/healthz',
      'http web/healthz #2',
      'http web/healthz #3',
    ]);
  });
});
