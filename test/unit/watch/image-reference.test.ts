import { describe, expect, it } from 'vitest';
import { parseImageReference, pinnedDigest } from '../../../activities/watch/image-reference.ts';

const digest = `sha256:${'ab'.repeat(32)}`;

describe('image references', () => {
  it.each([
    ['debian:12', { host: 'docker.io', repository: 'library/debian', tag: '12' }],
    ['docker.io/library/debian:12', { host: 'docker.io', repository: 'library/debian', tag: '12' }],
    ['index.docker.io/acme/web', { host: 'docker.io', repository: 'acme/web', tag: 'latest' }],
    ['acme/web:1.4', { host: 'docker.io', repository: 'acme/web', tag: '1.4' }],
    ['127.0.0.1:5000/base/debian:12', { host: '127.0.0.1:5000', repository: 'base/debian', tag: '12' }],
    ['localhost/app', { host: 'localhost', repository: 'app', tag: 'latest' }],
    [`ghcr.io/acme/web:1.4@${digest}`, { host: 'ghcr.io', repository: 'acme/web', tag: '1.4', digest }],
    [`ghcr.io/acme/web@${digest}`, { host: 'ghcr.io', repository: 'acme/web', digest }],
  ])('parses %s', (text, expected) => expect(parseImageReference(text)).toEqual(expected));

  it.each(['', 'UPPER/case', 'a b', 'ghcr.io/acme/web@sha256:short'])('rejects %j', (text) =>
    expect(parseImageReference(text)).toBeUndefined(),
  );

  it('finds the pinned digest only at the end of a reference', () => {
    expect(pinnedDigest(`reg:5000/a/b:1@${digest}`)).toBe(digest);
    expect(pinnedDigest('reg:5000/a/b:1')).toBeUndefined();
  });
});
