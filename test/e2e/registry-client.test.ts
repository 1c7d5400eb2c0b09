// The registry client against the stack's two real registries, Distribution 2.8 and zot: digests
// by HEAD, the If-None-Match idle check, tag listing, build metadata, basic auth and its errors,
// the concurrency limit and the request budget of invariant 7, and referrers. Where zot behaves
// otherwise (it ignores If-None-Match, refuses Docker media types, needs credentials for
// everything) the test says so and asserts what zot does.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { RegistryClient, type RegistryClientOptions } from '../../activities/registry/client.ts';
import { dockerManifest, ociIndex, ociManifest } from '../../activities/registry/media-types.ts';
import { chooseTag } from '../../activities/registry/policies.ts';
import type { RegistryRequestEvent } from '../../activities/registry/transport.ts';
import { type PushedImage, pushImage } from '../support/image-pusher.ts';
import { pushReferrer } from '../support/referrer-pusher.ts';

const stack = inject('stack');
const repo = (name: string) => `regclient-${randomBytes(3).toString('hex')}/${name}`;

interface Credentials {
  username: string;
  password: string;
}

interface RegistryUnderTest {
  name: 'Distribution' | 'zot';
  /** Where most tests push and read. */
  url: string;
  /** zot serves nobody without credentials; the stack's first Distribution serves anyone. */
  credentials?: Credentials;
  /** A registry that needs basic auth, for the credential tests. */
  guarded: Credentials & { url: string };
}

const registries: RegistryUnderTest[] = [
  { name: 'Distribution', url: stack.registry.url, guarded: stack.registryAuth },
  {
    name: 'zot',
    url: stack.zot.url,
    credentials: { username: stack.zot.username, password: stack.zot.password },
    guarded: stack.zot,
  },
];

const summary = (events: RegistryRequestEvent[]) => events.map((e) => `${e.method} ${e.endpoint} ${e.code}`);
const basicHeader = (c: Credentials | undefined): Record<string, string> =>
  c ? { authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` } : {};

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(registries)('registry client on $name', (registry) => {
  const push = (opts: Omit<Parameters<typeof pushImage>[0], 'registryUrl' | 'auth'>) =>
    pushImage({
      registryUrl: registry.url,
      ...(registry.credentials ? { auth: registry.credentials } : {}),
      ...opts,
    });

  function localClient(extra: Partial<RegistryClientOptions> = {}) {
    const events: RegistryRequestEvent[] = [];
    const client = new RegistryClient({
      name: 'local',
      url: registry.url,
      ...(registry.credentials ? { auth: { type: 'basic', ...registry.credentials } } : {}),
      onRequest: (e) => events.push(e),
      ...extra,
    });
    return { client, events };
  }

  describe('resolveDigest', () => {
    it('resolves a pushed tag to the digest the registry computed, with one HEAD', async () => {
      const repository = repo('web');
      const pushed = await push({ repository, tag: '1.4' });
      const { client, events } = localClient();

      await expect(client.resolveDigest(repository, '1.4')).resolves.toEqual({
        digest: pushed.digest,
        mediaType: ociManifest,
        notModified: false,
      });
      expect(summary(events)).toEqual(['HEAD manifest 200']);
      expect(events[0]).toMatchObject({ registry: 'local' });
      expect(events[0]?.durationSeconds).toBeGreaterThan(0);
    });

    it('answers an idle check with If-None-Match: one HEAD, no GET', async () => {
      const repository = repo('idle');
      const pushed = await push({ repository, tag: '1.4' });
      const { client, events } = localClient();

      const resolved = await client.resolveDigest(repository, '1.4', { ifNoneMatch: pushed.digest });
      if (registry.name === 'Distribution') {
        // Distribution answers 304, which carries no Content-Type: the media type is unknown.
        expect(resolved).toEqual({ digest: pushed.digest, mediaType: undefined, notModified: true });
        expect(summary(events)).toEqual(['HEAD manifest 304']);
      } else {
        // zot ignores If-None-Match and answers 200 with the same Docker-Content-Digest: still
        // one HEAD, and the client sees the digest unchanged.
        expect(resolved).toEqual({ digest: pushed.digest, mediaType: ociManifest, notModified: true });
        expect(summary(events)).toEqual(['HEAD manifest 200']);
      }
      expect(events.filter((e) => e.method === 'GET')).toHaveLength(0);
    });

    it('sees a rebuild of the same tag as a new digest', async () => {
      const repository = repo('rebuild');
      const first = await push({ repository, tag: '2', created: new Date(1e12) });
      const second = await push({ repository, tag: '2', created: new Date(2e12) });
      const { client, events } = localClient();

      const resolved = await client.resolveDigest(repository, '2', { ifNoneMatch: first.digest });
      expect(resolved).toEqual({ digest: second.digest, mediaType: ociManifest, notModified: false });
      expect(second.digest).not.toBe(first.digest);
      expect(summary(events)).toEqual(['HEAD manifest 200']);
    });

    it('says when the tag or repository does not exist, and that retrying will not help', async () => {
      const repository = repo('missing');
      await push({ repository, tag: '1' });
      const { client, events } = localClient();

      const err = await client.resolveDigest(repository, '9.9').catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'RegistryError', status: 404, retryable: false, method: 'HEAD' });
      expect((err as Error).message).toBe(
        `registry local: HEAD ${repository}:9.9 → 404 tag or repository not found`,
      );
      expect(summary(events)).toEqual(['HEAD manifest 404']);
    });

    it('keeps to its concurrency limit', async () => {
      const repository = repo('burst');
      const tags = Array.from({ length: 12 }, (_, i) => `t${i}`);
      for (const tag of tags) await push({ repository, tag });
      const realFetch = globalThis.fetch;
      let inFlight = 0;
      let peak = 0;
      // Counts requests on their way to the real registry; it answers them unchanged.
      vi.spyOn(globalThis, 'fetch').mockImplementation(async (...args: Parameters<typeof fetch>) => {
        peak = Math.max(peak, ++inFlight);
        try {
          return await realFetch(...args);
        } finally {
          inFlight--;
        }
      });
      const { client, events } = localClient({ maxConcurrency: 3 });
      const digests = await Promise.all(tags.map((tag) => client.resolveDigest(repository, tag)));
      expect(new Set(digests.map((d) => d.digest)).size).toBe(tags.length);
      expect(peak).toBe(3);
      expect(events).toHaveLength(tags.length);
    });

    it('resolves a Docker schema 2 manifest where the registry takes one', async () => {
      const repository = repo('docker');
      const image = await push({ repository, tag: 'oci' });
      const put = await pushDockerTwin(registry, repository, image, 'docker');
      if (registry.name === 'zot') {
        // zot stores OCI media types only: a Docker manifest is refused at push time.
        expect(put.status).toBe(415);
        expect(put.body).toContain('MANIFEST_INVALID');
        return;
      }
      expect(put.status).toBe(201);
      const { client } = localClient();
      await expect(client.resolveDigest(repository, 'docker')).resolves.toEqual({
        digest: put.digest,
        mediaType: dockerManifest,
        notModified: false,
      });
      await expect(client.imageMetadata(repository, put.digest)).resolves.toMatchObject({
        configDigest: image.configDigest,
        created: image.created,
      });
    });
  });

  describe('listTags', () => {
    it('lists image tags sorted, without signature tags, and feeds the policies', async () => {
      const repository = repo('tags');
      for (const tag of ['1.10.0', '1.9.2', 'v1.11.0-rc.1', 'latest', `sha256-${'c'.repeat(64)}.sig`]) {
        await push({ repository, tag });
      }
      const { client, events } = localClient();
      const { tags, truncated } = await client.listTags(repository);
      expect(tags).toEqual(['1.10.0', '1.9.2', 'latest', 'v1.11.0-rc.1']);
      expect(truncated).toBe(false);
      expect(summary(events)).toEqual(['GET tags 200']);
      expect(chooseTag({ semver: '^1.9' }, tags)).toEqual({ tag: '1.10.0' });
      expect(chooseTag({ semver: '^1.9', includePrerelease: true }, tags)).toEqual({ tag: 'v1.11.0-rc.1' });
    });

    it('says when the repository is unknown, with the registry own error code', async () => {
      const repository = repo('never-pushed');
      const { client } = localClient();
      await expect(client.listTags(repository)).rejects.toThrow(
        `registry local: GET ${repository} tags → 404 tag or repository not found; registry says NAME_UNKNOWN: repository name not known to registry`,
      );
    });
  });

  describe('imageMetadata', () => {
    it('reads build time, base image and labels of a single-platform image', async () => {
      const repository = repo('meta');
      const created = new Date('2026-11-01T10:00:00Z');
      const base = { name: 'docker.io/library/debian:12', digest: `sha256:${'a'.repeat(64)}` };
      const pushed = await push({
        repository,
        tag: '1.4',
        created,
        base,
        labels: { 'org.opencontainers.image.revision': 'abc123' },
      });
      const { client, events } = localClient();

      const meta = await client.imageMetadata(repository, pushed.digest);
      expect(meta).toEqual({
        digest: pushed.digest,
        platformDigest: pushed.digest,
        configDigest: pushed.configDigest,
        created: created.toISOString(),
        createdFrom: 'annotation',
        baseName: base.name,
        baseDigest: base.digest,
        baseFrom: 'annotation',
        layers: [expect.stringMatching(/^sha256:[a-f0-9]{64}$/)],
        labels: {
          'org.opencontainers.image.created': created.toISOString(),
          'org.opencontainers.image.revision': 'abc123',
        },
      });
      expect(summary(events)).toEqual(['GET manifest 200', 'GET blob 200']);
    });

    it('picks the platform manifest of a multi-platform index and verifies both digests', async () => {
      const repository = repo('multi');
      const amd64 = await push({ repository, tag: 'amd64', created: new Date(1.7e12) });
      const arm64 = await push({ repository, tag: 'arm64', created: new Date(1.8e12) });
      const indexDigest = await pushIndex(registry, repository, '1.4', [
        { digest: arm64.digest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { digest: amd64.digest, platform: { os: 'linux', architecture: 'amd64' } },
      ]);
      const { client, events } = localClient();

      await expect(client.resolveDigest(repository, '1.4')).resolves.toEqual({
        digest: indexDigest,
        mediaType: ociIndex,
        notModified: false,
      });
      const meta = await client.imageMetadata(repository, indexDigest);
      expect(meta).toMatchObject({
        digest: indexDigest,
        platformDigest: amd64.digest,
        configDigest: amd64.configDigest,
        created: amd64.created,
      });
      const arm = await client.imageMetadata(repository, indexDigest, {
        os: 'linux',
        architecture: 'arm64',
        variant: 'v8',
      });
      expect(arm).toMatchObject({ platformDigest: arm64.digest, created: arm64.created });
      await expect(
        client.imageMetadata(repository, indexDigest, { os: 'linux', architecture: 's390x' }),
      ).rejects.toThrow(
        `registry local: GET ${repository}@${indexDigest} → no linux/s390x manifest in the index (offers linux/arm64/v8, linux/amd64)`,
      );
      expect(summary(events).slice(0, 4)).toEqual([
        'HEAD manifest 200',
        'GET manifest 200',
        'GET manifest 200',
        'GET blob 200',
      ]);
    });
  });

  describe('listReferrers', () => {
    const signature = 'application/vnd.dev.freshet.test.signature';
    const sbom = 'application/vnd.dev.freshet.test.sbom';

    it('lists the artifacts pushed with the image as subject, filtered by artifact type', async () => {
      const repository = repo('signed');
      const image = await push({ repository, tag: '1' });
      const auth = registry.credentials ? { auth: registry.credentials } : {};
      const signed = await pushReferrer({
        registryUrl: registry.url,
        repository,
        subject: image,
        artifactType: signature,
        ...auth,
      });
      const listed = await pushReferrer({
        registryUrl: registry.url,
        repository,
        subject: image,
        artifactType: sbom,
        ...auth,
      });
      if (registry.name === 'Distribution') {
        // Distribution 2.8 has no referrers API and ignores `subject`: the pushing client keeps
        // the list itself under the fallback tag, as cosign and oras do.
        await pushFallbackIndex(registry, repository, image.digest, [signed, listed]);
      }
      const { client, events } = localClient();

      const all = await client.listReferrers(repository, image.digest);
      expect(all.map((d) => d.digest).sort()).toEqual([signed.digest, listed.digest].sort());
      expect(all.find((d) => d.digest === signed.digest)).toMatchObject({
        mediaType: ociManifest,
        artifactType: signature,
      });
      await expect(
        client.listReferrers(repository, image.digest, { artifactType: signature }),
      ).resolves.toEqual([expect.objectContaining({ digest: signed.digest, artifactType: signature })]);
      expect(summary(events)).toEqual(
        registry.name === 'zot'
          ? ['GET referrers 200', 'GET referrers 200']
          : ['GET referrers 404', 'GET manifest 200', 'GET referrers 404', 'GET manifest 200'],
      );
    });

    it('answers an empty list for an image nothing refers to', async () => {
      const repository = repo('unsigned');
      const image = await push({ repository, tag: '1' });
      const { client, events } = localClient();
      await expect(client.listReferrers(repository, image.digest)).resolves.toEqual([]);
      expect(summary(events)).toEqual(
        registry.name === 'zot' ? ['GET referrers 200'] : ['GET referrers 404', 'GET manifest 404'],
      );
    });
  });

  describe('basic auth', () => {
    const guarded = registry.guarded;

    it('resolves digests, lists tags and reads metadata with the right credentials', async () => {
      const repository = repo('private');
      const pushed = await pushImage({
        registryUrl: guarded.url,
        repository,
        tag: '1',
        auth: { username: guarded.username, password: guarded.password },
      });
      const events: RegistryRequestEvent[] = [];
      const client = new RegistryClient({
        name: 'auth',
        url: guarded.url,
        auth: { type: 'basic', username: guarded.username, password: guarded.password },
        onRequest: (e) => events.push(e),
      });
      await expect(client.resolveDigest(repository, '1')).resolves.toMatchObject({ digest: pushed.digest });
      await expect(
        client.resolveDigest(repository, '1', { ifNoneMatch: pushed.digest }),
      ).resolves.toMatchObject({
        notModified: true,
      });
      await expect(client.listTags(repository)).resolves.toEqual({ tags: ['1'], truncated: false });
      await expect(client.imageMetadata(repository, pushed.digest)).resolves.toMatchObject({
        configDigest: pushed.configDigest,
      });
      // Basic credentials go with the first request: no 401 round trips.
      expect(events.map((e) => e.code)).not.toContain('401');
    });

    it('refuses wrong credentials with a clear 401 that never shows the password', async () => {
      const password = `wrong-${randomBytes(8).toString('hex')}`;
      const events: RegistryRequestEvent[] = [];
      const client = new RegistryClient({
        name: 'auth',
        url: guarded.url,
        auth: { type: 'basic', username: guarded.username, password },
        onRequest: (e) => events.push(e),
      });
      const err = await client.resolveDigest('acme/web', '1.4').catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'RegistryError', status: 401, retryable: false });
      expect((err as Error).message).toBe(
        "registry auth: HEAD acme/web:1.4 → 401 unauthorized (check the registry's credentials)",
      );
      const everything = [
        String(err),
        inspect(err, { depth: 5 }),
        JSON.stringify(err),
        (err as Error).stack ?? '',
      ].join('\n');
      expect(everything).not.toContain(password);
      expect(everything).not.toContain(Buffer.from(`${guarded.username}:${password}`).toString('base64'));
      expect(summary(events)).toEqual(['HEAD manifest 401']);
    });

    it('tells an anonymous client that the registry needs credentials', async () => {
      const client = new RegistryClient({ name: 'auth', url: guarded.url });
      await expect(client.listTags('acme/web')).rejects.toThrow(
        /^registry auth: GET acme\/web tags → 401 unauthorized \(the registry needs credentials; configure auth for it\)/,
      );
    });
  });
});

describe('registry client without a registry', () => {
  it('refuses a malformed reference before sending anything', async () => {
    const events: RegistryRequestEvent[] = [];
    const client = new RegistryClient({
      name: 'local',
      url: stack.registry.url,
      onRequest: (e) => events.push(e),
    });
    await expect(client.resolveDigest('Acme/Web', '1.4')).rejects.toThrow(
      'registry local: HEAD Acme/Web:1.4 → invalid repository name "Acme/Web"',
    );
    await expect(client.resolveDigest('acme/web', '1.4', { ifNoneMatch: 'abc' })).rejects.toThrow(
      /ifNoneMatch "abc" is not a digest/,
    );
    await expect(client.listReferrers('acme/web', 'sha256:abc')).rejects.toThrow(
      'registry local: GET acme/web@sha256:abc referrers → invalid digest "sha256:abc" (expected sha256:<64 hex>)',
    );
    await expect(client.listReferrers('acme/web', 'latest')).rejects.toThrow(
      'registry local: GET acme/web:latest referrers → not a digest',
    );
    expect(events).toHaveLength(0);
  });

  it('reports a network failure as retryable after its retries', async () => {
    const port = await closedPort();
    const events: RegistryRequestEvent[] = [];
    const client = new RegistryClient({
      name: 'local',
      url: `http://127.0.0.1:${port}`,
      maxRetries: 1,
      retryBaseDelayMs: 1,
      onRequest: (e) => events.push(e),
    });
    const err = await client.resolveDigest('acme/web', '1.4').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'RegistryError', retryable: true, status: undefined });
    expect((err as Error).message).toBe(
      `registry local: HEAD acme/web:1.4 → network error: connect ECONNREFUSED 127.0.0.1:${port} (gave up after 2 attempts)`,
    );
    expect(summary(events)).toEqual(['HEAD manifest network', 'HEAD manifest network']);
  });
});

/** PUTs a manifest by tag or digest; returns the status, body text and the body's digest. */
async function putManifest(
  registry: RegistryUnderTest,
  repository: string,
  reference: string,
  mediaType: string,
  document: unknown,
) {
  const body = Buffer.from(JSON.stringify(document));
  const res = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType, ...basicHeader(registry.credentials) },
    body,
  });
  return {
    status: res.status,
    body: await res.text(),
    digest: `sha256:${createHash('sha256').update(body).digest('hex')}`,
  };
}

/** Pushes an OCI index over already-pushed manifests; the stack's pusher makes single manifests. */
async function pushIndex(
  registry: RegistryUnderTest,
  repository: string,
  tag: string,
  entries: Array<{ digest: string; platform: { os: string; architecture: string; variant?: string } }>,
): Promise<string> {
  const manifests = await Promise.all(
    entries.map(async (entry) => {
      const res = await fetch(`${registry.url}/v2/${repository}/manifests/${entry.digest}`, {
        method: 'HEAD',
        headers: { accept: ociManifest, ...basicHeader(registry.credentials) },
      });
      return { mediaType: ociManifest, size: Number(res.headers.get('content-length')), ...entry };
    }),
  );
  const put = await putManifest(registry, repository, tag, ociIndex, {
    schemaVersion: 2,
    mediaType: ociIndex,
    manifests,
  });
  if (put.status !== 201)
    throw new Error(`pushing index ${repository}:${tag}: HTTP ${put.status} ${put.body}`);
  return put.digest;
}

/** The same image as a Docker schema 2 manifest: same blobs, Docker media types. */
async function pushDockerTwin(
  registry: RegistryUnderTest,
  repository: string,
  image: PushedImage,
  tag: string,
) {
  const res = await fetch(`${registry.url}/v2/${repository}/manifests/${image.digest}`, {
    headers: { accept: ociManifest, ...basicHeader(registry.credentials) },
  });
  const oci = (await res.json()) as { config: object; layers: object[] };
  return putManifest(registry, repository, tag, dockerManifest, {
    schemaVersion: 2,
    mediaType: dockerManifest,
    config: { ...oci.config, mediaType: 'application/vnd.docker.container.image.v1+json' },
    layers: oci.layers.map((l) => ({ ...l, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' })),
  });
}

/** The referrers tag schema: an index under `sha256-<hex>` listing what refers to that digest. */
async function pushFallbackIndex(
  registry: RegistryUnderTest,
  repository: string,
  subject: string,
  referrers: { digest: string; artifactType: string; size: number }[],
) {
  const manifests = referrers.map((r) => ({ mediaType: ociManifest, ...r }));
  const put = await putManifest(registry, repository, subject.replace(':', '-'), ociIndex, {
    schemaVersion: 2,
    mediaType: ociIndex,
    manifests,
  });
  if (put.status !== 201)
    throw new Error(`pushing the referrers tag of ${subject}: HTTP ${put.status} ${put.body}`);
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}
