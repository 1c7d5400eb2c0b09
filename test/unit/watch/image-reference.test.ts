import { describe, expect, it } from 'vitest';
import {
  canonicalImageName,
  canonicalRepository,
  isDockerHubHost,
  parseImageReference,
  pinnedDigest,
  referencesImage,
} from '../../../activities/watch/image-reference.ts';

const digest = `sha256:${'ab'.repeat(32)}`;

describe('image references', () => {
  it.each([
    ['debian:12', { host: 'docker.io', repository: 'library/debian', tag: '12' }],
    ['docker.io/library/debian:12', { host: 'docker.io', repository: 'library/debian', tag: '12' }],
    ['index.docker.io/acme/web', { host: 'docker.io', repository: 'acme/web', tag: 'latest' }],
    ['registry-1.docker.io/nginx:1.27', { host: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['acme/web:1.4', { host: 'docker.io', repository: 'acme/web', tag: '1.4' }],
    ['127.0.0.1:5000/base/debian:12', { host: '127.0.0.1:5000', repository: 'base/debian', tag: '12' }],
    ['127.0.0.1:5000/debian:12', { host: '127.0.0.1:5000', repository: 'debian', tag: '12' }],
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

describe('Docker Hub names normalise', () => {
  it('knows Docker Hub by each of its names', () => {
    for (const host of [
      'docker.io',
      'index.docker.io',
      'registry-1.docker.io',
      'registry.hub.docker.com',
      'Registry-1.Docker.IO:443',
    ])
      expect(isDockerHubHost(host)).toBe(true);
    for (const host of ['ghcr.io', 'docker.io.example.com', 'mirror.gcr.io', '127.0.0.1:5000'])
      expect(isDockerHubHost(host)).toBe(false);
  });

  it('puts official images under library/ on Docker Hub only', () => {
    expect(canonicalRepository('registry-1.docker.io', 'nginx')).toBe('library/nginx');
    expect(canonicalRepository('docker.io', 'user/app')).toBe('user/app');
    expect(canonicalRepository('127.0.0.1:5000', 'nginx')).toBe('nginx');
    expect(canonicalImageName('index.docker.io', 'nginx')).toBe('docker.io/library/nginx');
    expect(canonicalImageName('docker.io', 'user/app')).toBe('docker.io/user/app');
  });

  it('matches a Deployment image written nginx:1.27 to repository nginx on any Docker Hub url', () => {
    for (const host of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
      for (const repository of ['nginx', 'library/nginx']) {
        expect(referencesImage('nginx:1.27', host, repository)).toBe(true);
        expect(referencesImage(`docker.io/library/nginx:1.27@${digest}`, host, repository)).toBe(true);
        expect(referencesImage('index.docker.io/library/nginx', host, repository)).toBe(true);
      }
    }
    expect(referencesImage('user/app:2', 'registry-1.docker.io', 'user/app')).toBe(true);
    expect(referencesImage('nginx:1.27', '127.0.0.1:5000', 'nginx')).toBe(false);
    expect(referencesImage('127.0.0.1:5000/nginx:1.27', 'docker.io', 'nginx')).toBe(false);
    expect(referencesImage('nginx-unprivileged:1', 'docker.io', 'nginx')).toBe(false);
  });
});
