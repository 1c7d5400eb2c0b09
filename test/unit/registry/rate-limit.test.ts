import { describe, expect, it } from 'vitest';
import { parseRateLimit } from '../../../activities/registry/rate-limit.ts';

const headers = (h: Record<string, string>) => new Headers(h);

describe('ratelimit headers', () => {
  it("reads Docker Hub's remaining, limit and window", () => {
    expect(
      parseRateLimit(headers({ 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600' }), 5),
    ).toEqual({ remaining: 76, limit: 100, windowSeconds: 21600, observedAt: 5 });
  });

  it('takes the window from the limit when remaining has none, and reads a reset', () => {
    expect(
      parseRateLimit(
        headers({ 'ratelimit-limit': '100, 100;w=60', 'ratelimit-remaining': '0', 'ratelimit-reset': '12' }),
        1,
      ),
    ).toEqual({ remaining: 0, limit: 100, resetSeconds: 12, observedAt: 1 });
    expect(
      parseRateLimit(headers({ 'ratelimit-limit': '100;w=60', 'ratelimit-remaining': '3' }), 1),
    ).toMatchObject({ remaining: 3, windowSeconds: 60 });
  });

  it('ignores answers without the header or with garbage in it', () => {
    expect(parseRateLimit(headers({}))).toBeUndefined();
    for (const value of ['', 'lots', '-1;w=60', '1.5', '99999999999999999;w=1'])
      expect(parseRateLimit(headers({ 'ratelimit-remaining': value }))).toBeUndefined();
    expect(parseRateLimit(headers({ 'ratelimit-remaining': '5;w=abc', 'ratelimit-limit': 'x' }), 0)).toEqual({
      remaining: 5,
      observedAt: 0,
    });
  });
});
