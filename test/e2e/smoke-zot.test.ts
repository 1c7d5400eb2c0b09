// The stack's second registry is a real zot: basic auth from its own htpasswd file, OCI image
// manifests by HEAD, and the referrers API listing an artifact pushed with a `subject`.
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { manifestAccept, pushImage } from '../support/image-pusher.ts';
import { pushReferrer } from '../support/referrer-pusher.ts';

const stack = inject('stack');
const auth = { username: stack.zot.username, password: stack.zot.password };
const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
const repo = (name: string) => `smoke-${randomBytes(3).toString('hex')}/${name}`;

describe('zot stack', () => {
  it('refuses anonymous clients with a Basic challenge and accepts the generated user', async () => {
    const anonymous = await fetch(`${stack.zot.url}/v2/`);
    await anonymous.body?.cancel();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="freshet-zot"');
    const wrong = await fetch(`${stack.zot.url}/v2/`, {
      headers: { authorization: `Basic ${Buffer.from('freshet:nope').toString('base64')}` },
    });
    await wrong.body?.cancel();
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${stack.zot.url}/v2/`, { headers: { authorization: basic } });
    await ok.body?.cancel();
    expect(ok.status).toBe(200);
  });

  it('resolves a pushed tag to its digest with a HEAD request', async () => {
    const repository = repo('web');
    const pushed = await pushImage({ registryUrl: stack.zot.url, repository, tag: '1.4', auth });
    const head = await fetch(`${stack.zot.url}/v2/${repository}/manifests/1.4`, {
      method: 'HEAD',
      headers: { accept: manifestAccept, authorization: basic },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(pushed.digest);
  });

  it('lists an artifact pushed with a subject through the referrers API', async () => {
    const repository = repo('signed');
    const image = await pushImage({ registryUrl: stack.zot.url, repository, tag: '1', auth });
    const artifactType = 'application/vnd.dev.freshet.test.signature';
    const referrer = await pushReferrer({
      registryUrl: stack.zot.url,
      repository,
      subject: image,
      artifactType,
      auth,
    });
    const res = await fetch(`${stack.zot.url}/v2/${repository}/referrers/${image.digest}`, {
      headers: { authorization: basic },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.oci.image.index.v1+json');
    const index = (await res.json()) as { manifests: { digest: string; artifactType?: string }[] };
    expect(index.manifests).toEqual([expect.objectContaining({ digest: referrer.digest, artifactType })]);
  });
});
