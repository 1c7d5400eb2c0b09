// The stack's registries are real Distribution servers: a pushed image resolves by HEAD to
// the digest the registry computed, and the htpasswd instance refuses anonymous clients.
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { brokenDigestPrefix, manifestAccept, pushImage } from '../support/image-pusher.ts';

const stack = inject('stack');
const repo = (name: string) => `smoke-${randomBytes(3).toString('hex')}/${name}`;

describe('registry stack', () => {
  it('resolves a pushed tag to its digest with a HEAD request', async () => {
    const repository = repo('web');
    const created = new Date('2026-11-01T10:00:00Z');
    const base = { name: 'docker.io/library/debian:12', digest: `sha256:${'a'.repeat(64)}` };
    const pushed = await pushImage({
      registryUrl: stack.registry.url,
      repository,
      tag: '1.4',
      created,
      base,
    });

    const head = await fetch(`${stack.registry.url}/v2/${repository}/manifests/1.4`, {
      method: 'HEAD',
      headers: { accept: manifestAccept },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(pushed.digest);
    expect(pushed.digest.startsWith(brokenDigestPrefix)).toBe(false);

    const manifest = (await (
      await fetch(`${stack.registry.url}/v2/${repository}/manifests/${pushed.digest}`, {
        headers: { accept: manifestAccept },
      })
    ).json()) as { annotations: Record<string, string> };
    expect(manifest.annotations['org.opencontainers.image.created']).toBe(created.toISOString());
    expect(manifest.annotations['org.opencontainers.image.base.name']).toBe(base.name);
    expect(manifest.annotations['org.opencontainers.image.base.digest']).toBe(base.digest);
  });

  it('gives a rebuild of the same tag a new digest', async () => {
    const repository = repo('api');
    const first = await pushImage({
      registryUrl: stack.registry.url,
      repository,
      tag: '2',
      created: new Date(1e12),
    });
    const second = await pushImage({
      registryUrl: stack.registry.url,
      repository,
      tag: '2',
      created: new Date(2e12),
    });
    expect(second.digest).not.toBe(first.digest);
    const head = await fetch(`${stack.registry.url}/v2/${repository}/manifests/2`, {
      method: 'HEAD',
      headers: { accept: manifestAccept },
    });
    expect(head.headers.get('docker-content-digest')).toBe(second.digest);
  });

  it('pushes broken builds with the digest prefix the stack treats as broken', async () => {
    const pushed = await pushImage({
      registryUrl: stack.registry.url,
      repository: repo('bad'),
      tag: '1',
      broken: true,
    });
    expect(pushed.digest.startsWith(brokenDigestPrefix)).toBe(true);
  });

  it('requires basic auth on the htpasswd registry', async () => {
    const anonymous = await fetch(`${stack.registryAuth.url}/v2/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);

    const auth = { username: stack.registryAuth.username, password: stack.registryAuth.password };
    const repository = repo('private');
    const pushed = await pushImage({ registryUrl: stack.registryAuth.url, repository, tag: '1', auth });
    const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const head = await fetch(`${stack.registryAuth.url}/v2/${repository}/manifests/1`, {
      method: 'HEAD',
      headers: { accept: manifestAccept, authorization: basic },
    });
    expect(head.headers.get('docker-content-digest')).toBe(pushed.digest);
    const wrong = await fetch(`${stack.registryAuth.url}/v2/${repository}/manifests/1`, {
      method: 'HEAD',
      headers: {
        accept: manifestAccept,
        authorization: `Basic ${Buffer.from('freshet:nope').toString('base64')}`,
      },
    });
    expect(wrong.status).toBe(401);
  });
});
