import { describe, expect, it } from 'vitest';
import {
  describeStatus,
  isRetryableStatus,
  RegistryError,
  redact,
} from '../../../activities/registry/errors.ts';
import {
  decodeJson,
  registryErrorDetail,
  tagListSchema,
} from '../../../activities/registry/manifest-schemas.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('RegistryError', () => {
  it('says which registry, request and image failed, and keeps the fields for code', () => {
    const err = new RegistryError({
      registry: 'local',
      method: 'HEAD',
      target: 'acme/web:1.4',
      status: 401,
      retryable: false,
      problem: describeStatus(401, { credentials: true }),
    });
    expect(err.message).toBe(
      "registry local: HEAD acme/web:1.4 → 401 unauthorized (check the registry's credentials)",
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'RegistryError', registry: 'local', status: 401, retryable: false });
  });
});

describe('describeStatus', () => {
  it('explains the statuses people meet', () => {
    expect(describeStatus(404, { credentials: false })).toBe('404 tag or repository not found');
    expect(describeStatus(401, { credentials: false })).toMatch(/needs credentials/);
    expect(describeStatus(403, { credentials: true })).toMatch(/lack pull access/);
    expect(describeStatus(429, { credentials: false })).toMatch(/rate limited/);
    expect(describeStatus(503, { credentials: false })).toBe('503 server error');
    expect(describeStatus(404, { credentials: false, notFound: 'blob not found' })).toBe(
      '404 blob not found',
    );
    expect(describeStatus(404, { credentials: false, detail: 'MANIFEST_UNKNOWN: manifest unknown' })).toBe(
      '404 tag or repository not found; registry says MANIFEST_UNKNOWN: manifest unknown',
    );
  });

  it('retries rate limits and server failures only', () => {
    expect([429, 500, 502, 503, 504, 408].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 501].some(isRetryableStatus)).toBe(false);
  });
});

describe('redact', () => {
  it('removes every occurrence of every secret', () => {
    expect(redact('user s3cret and s3cret again', ['s3cret', ''])).toBe(
      'user [redacted] and [redacted] again',
    );
  });
});

describe('decodeJson', () => {
  it('turns a non-JSON answer into a sentence', () => {
    expect(decodeJson(tagListSchema, bytes('<html>proxy error</html>'))).toEqual({
      ok: false,
      problem: 'malformed answer: not JSON (24 bytes)',
    });
  });

  it('names the field that has the wrong shape', () => {
    const decoded = decodeJson(tagListSchema, bytes('{"name":"a","tags":"1.4"}'));
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.problem).toMatch(/^malformed answer: tags: /);
  });

  it("accepts Distribution's null tag list for a repository without tags", () => {
    expect(decodeJson(tagListSchema, bytes('{"name":"a","tags":null}'))).toEqual({
      ok: true,
      value: { name: 'a', tags: [] },
    });
  });

  it('reads the error code and message of an error body', () => {
    expect(
      registryErrorDetail(
        bytes('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}'),
      ),
    ).toBe('NAME_UNKNOWN: repository name not known');
    expect(registryErrorDetail(bytes(''))).toBeUndefined();
    expect(registryErrorDetail(bytes('{"errors":[]}'))).toBeUndefined();
  });
});
