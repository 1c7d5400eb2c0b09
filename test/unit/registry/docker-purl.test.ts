import { describe, expect, it } from 'vitest';
import { dockerRepository, parseDockerPurl } from '../../../activities/registry/docker-purl.ts';

const digest = `sha256:${'a'.repeat(64)}`;

describe('docker package URLs from BuildKit provenance', () => {
  it('gives Docker Hub names their implicit host and library/ namespace', () => {
    expect(parseDockerPurl('pkg:docker/alpine@3.20?platform=linux%2Famd64')).toEqual({
      host: 'docker.io',
      repository: 'library/alpine',
      tag: '3.20',
      platform: 'linux/amd64',
      reference: 'docker.io/library/alpine:3.20',
    });
    expect(parseDockerPurl('pkg:docker/library/alpine@3.20')?.reference).toBe(
      'docker.io/library/alpine:3.20',
    );
    expect(parseDockerPurl('pkg:docker/docker/dockerfile@1')?.reference).toBe(
      'docker.io/docker/dockerfile:1',
    );
  });

  it('keeps a registry host, port included, encoded or not', () => {
    expect(parseDockerPurl('pkg:docker/127.0.0.1:5000/acme/base@1.0')?.reference).toBe(
      '127.0.0.1:5000/acme/base:1.0',
    );
    expect(parseDockerPurl('pkg:docker/127.0.0.1%3A5000/acme/base@1.0')).toMatchObject({
      host: '127.0.0.1:5000',
      repository: 'acme/base',
      tag: '1.0',
    });
    expect(parseDockerPurl('pkg:docker/ghcr.io/acme/base@v2')?.reference).toBe('ghcr.io/acme/base:v2');
    expect(parseDockerPurl('pkg:docker/localhost/base@1')?.host).toBe('localhost');
  });

  it('reads a digest given as the version or as the digest qualifier (a FROM pinned by digest)', () => {
    expect(parseDockerPurl(`pkg:docker/alpine@${digest.replace(':', '%3A')}`)).toMatchObject({
      digest,
      reference: `docker.io/library/alpine@${digest}`,
    });
    const pinned = parseDockerPurl(
      `pkg:docker/gcr.io/distroless/static?digest=${digest}&platform=linux%2Farm64`,
    );
    expect(pinned).toMatchObject({
      host: 'gcr.io',
      repository: 'distroless/static',
      digest,
      platform: 'linux/arm64',
    });
    expect(pinned?.tag).toBeUndefined();
    expect(parseDockerPurl(`pkg:docker/alpine@3.20?digest=${digest}`)?.reference).toBe(
      `docker.io/library/alpine:3.20@${digest}`,
    );
  });

  it('takes the registry from repository_url when the URL names one', () => {
    expect(
      parseDockerPurl('pkg:docker/acme/base@1.0?repository_url=https://registry.example.com/'),
    ).toMatchObject({ host: 'registry.example.com', repository: 'acme/base' });
  });

  it('refuses what is not an image reference', () => {
    for (const uri of [
      'https://github.com/moby/buildkit.git#refs/tags/v0.11.0',
      'pkg:npm/left-pad@1.0.0',
      'pkg:docker/',
      'pkg:docker/Alpine@3.20',
      'pkg:docker/alpine@not a tag',
      'pkg:docker/alpine@3.20?digest=sha256:short',
      'pkg:docker/a%2Fb@1',
      'pkg:docker/alp%E0ine@1',
      'pkg:docker/alpine@',
    ]) {
      expect(parseDockerPurl(uri), uri).toBeUndefined();
    }
  });

  it('normalises familiar names the way Docker does', () => {
    expect(dockerRepository('docker/dockerfile-upstream')).toEqual({
      host: 'docker.io',
      repository: 'docker/dockerfile-upstream',
    });
    expect(dockerRepository('index.docker.io/nginx')).toEqual({
      host: 'docker.io',
      repository: 'library/nginx',
    });
    expect(dockerRepository('127.0.0.1:5000/acme/base')).toEqual({
      host: '127.0.0.1:5000',
      repository: 'acme/base',
    });
  });
});
