// Request targets as the HTTP server routes them: segments of the raw path, each decoded once.
import { describe, expect, it } from 'vitest';
import { parseRequestTarget } from '../../../worker/request-target.ts';

describe('parseRequestTarget', () => {
  it('splits the raw path into segments and keeps the query apart', () => {
    expect(parseRequestTarget('/webhooks/quay?token=a%2Fb&x=1')).toEqual({
      segments: ['webhooks', 'quay'],
      query: new URLSearchParams('token=a%2Fb&x=1'),
    });
    expect(parseRequestTarget('/')).toMatchObject({ segments: [''] });
    expect(parseRequestTarget('/metrics/')).toMatchObject({ segments: ['metrics', ''] });
  });

  it('decodes each segment exactly once', () => {
    expect(parseRequestTarget('/webhooks/%64istribution')).toMatchObject({
      segments: ['webhooks', 'distribution'],
    });
    expect(parseRequestTarget('/webhooks/%252e%252e')).toMatchObject({ segments: ['webhooks', '%2e%2e'] });
  });

  it.each([
    '/webhooks/%2e%2e/metrics',
    '/webhooks/..%2fmetrics',
    '/webhooks/a%5Cb',
    '/a/./b',
    '/a/../b',
    '/a%00',
  ])('refuses %s as not in normal form', (target) => {
    expect(parseRequestTarget(target)).toEqual({ status: 400, error: 'request path is not in normal form' });
  });

  it.each(['metrics', 'http://freshet/metrics', '*', '/a b', '/a\\b', '/%zz', '/%e9', '/a#b', '/a%0a'])(
    'refuses %s as malformed',
    (target) => {
      expect(parseRequestTarget(target)).toEqual({ status: 400, error: 'malformed request target' });
    },
  );
});
