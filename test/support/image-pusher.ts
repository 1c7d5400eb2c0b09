// Pushes synthetic images to a registry over the Distribution API: a one-file layer, an OCI
// config and an OCI manifest with build-time and base-image annotations. No Docker needed.
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { bearerChallenge, tokenUrl } from '../../activities/registry/auth.ts';

export const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
export const manifestAccept = [
  'application/vnd.oci.image.index.v1+json',
  ociManifest,
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** Digest prefix that the stack's KWOK treats as a broken build (see stack/kwok/pod-stages.yaml). */
export const brokenDigestPrefix = 'sha256:bad0';

export interface PushImageOptions {
  registryUrl: string;
  repository: string;
  tag: string;
  /** Build time; goes into the config and the org.opencontainers.image.created annotation. */
  created?: Date;
  base?: { name: string; digest: string };
  labels?: Record<string, string>;
  /** Push a build whose digest follows the stack's broken-build convention. */
  broken?: boolean;
  auth?: { username: string; password: string };
  /** A Bearer token with push access, for a registry in token-auth mode. */
  token?: string;
}

export interface PushedImage {
  repository: string;
  tag: string;
  digest: string;
  configDigest: string;
  created: string;
  /** `host:port/repository:tag@digest`, the form Freshet deploys. */
  reference: string;
}

export const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** An OCI image manifest of one config and one gzipped layer, as both were pushed. */
function oneLayerManifest(config: Buffer, layer: Buffer, annotations: Record<string, string>) {
  return {
    schemaVersion: 2,
    mediaType: ociManifest,
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha256(config),
      size: config.length,
    },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length },
    ],
    annotations,
  };
}

export function tarOneFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (text: string, offset: number, length: number) => header.write(text, offset, length, 'ascii');
  field(name, 0, 100);
  field('0000644\0', 100, 8);
  field('0001750\0', 108, 8);
  field('0001750\0', 116, 8);
  field(`${content.length.toString(8).padStart(11, '0')}\0`, 124, 12);
  field('00000000000\0', 136, 12);
  field('        ', 148, 8);
  field('0', 156, 1);
  field('ustar\0', 257, 6);
  field('00', 263, 2);
  let sum = 0;
  for (const byte of header) sum += byte;
  field(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

export async function pushImage(opts: PushImageOptions): Promise<PushedImage> {
  const created = (opts.created ?? new Date()).toISOString();
  const headers = opts.token ? { authorization: `Bearer ${opts.token}` } : await pushHeaders(opts);
  const tar = tarOneFile('build.txt', Buffer.from(`${opts.repository}:${opts.tag} built ${created}\n`));
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      created,
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { 'org.opencontainers.image.created': created, ...opts.labels } },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      history: [{ created, created_by: 'freshet test image pusher' }],
    }),
  );
  await pushBlob(opts.registryUrl, opts.repository, layer, headers);
  await pushBlob(opts.registryUrl, opts.repository, config, headers);

  const annotations: Record<string, string> = { 'org.opencontainers.image.created': created };
  if (opts.base) {
    annotations['org.opencontainers.image.base.name'] = opts.base.name;
    annotations['org.opencontainers.image.base.digest'] = opts.base.digest;
  }
  const manifest = mineManifest(oneLayerManifest(config, layer, annotations), opts.broken ?? false);
  const digest = sha256(manifest);
  const url = `${opts.registryUrl}/v2/${opts.repository}/manifests/${opts.tag}`;
  const res = await fetch(url, {
    method: 'PUT',
    headers: { ...headers, 'content-type': ociManifest },
    body: manifest,
  });
  if (res.status !== 201) throw new Error(`PUT ${url}: HTTP ${res.status} ${await res.text()}`);
  const echoed = res.headers.get('docker-content-digest');
  if (echoed !== digest) throw new Error(`registry stored ${echoed}, expected ${digest}`);
  const host = new URL(opts.registryUrl).host;
  return {
    repository: opts.repository,
    tag: opts.tag,
    digest,
    configDigest: sha256(config),
    created,
    reference: `${host}/${opts.repository}:${opts.tag}@${digest}`,
  };
}

/**
 * One image under one tag in many repositories, as fast as the registry allows: its blobs are
 * uploaded once and mounted into every other repository (stored once), then only the manifest is
 * put. Every repository gets the same digest. For benchmarks of thousands of images.
 */
export async function pushImageToRepositories(opts: {
  registryUrl: string;
  repositories: readonly string[];
  tag: string;
  concurrency?: number;
  onProgress?: (pushed: number) => void;
}): Promise<PushedImage> {
  const [first, ...rest] = opts.repositories;
  if (first === undefined) throw new Error('no repository to push to');
  const pushed = await pushImage({ registryUrl: opts.registryUrl, repository: first, tag: opts.tag });
  const manifestUrl = (repository: string) => `${opts.registryUrl}/v2/${repository}/manifests/${opts.tag}`;
  const source = await fetch(manifestUrl(first), { headers: { accept: ociManifest } });
  const manifest = Buffer.from(await source.arrayBuffer());
  const { config, layers } = JSON.parse(manifest.toString()) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  const blobs = [config.digest, ...layers.map((l) => l.digest)];
  let next = 0;
  let done = 1;
  const pushNext = async () => {
    for (let repo = rest[next++]; repo !== undefined; repo = rest[next++]) {
      for (const digest of blobs) {
        const url = `${opts.registryUrl}/v2/${repo}/blobs/uploads/?mount=${digest}&from=${first}`;
        const mount = await fetch(url, { method: 'POST' });
        await mount.body?.cancel();
        if (mount.status !== 201) throw new Error(`mounting ${digest} into ${repo}: HTTP ${mount.status}`);
      }
      const put = await fetch(manifestUrl(repo), {
        method: 'PUT',
        headers: { 'content-type': ociManifest },
        body: manifest,
      });
      if (put.status !== 201)
        throw new Error(`PUT ${manifestUrl(repo)}: HTTP ${put.status} ${await put.text()}`);
      if (put.headers.get('docker-content-digest') !== pushed.digest)
        throw new Error(
          `registry stored ${put.headers.get('docker-content-digest')}, expected ${pushed.digest}`,
        );
      opts.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 16 }, pushNext));
  return pushed;
}

/**
 * Varies a nonce annotation until the digest matches the wish: broken builds get the
 * `sha256:bad0` prefix, good builds are guaranteed not to (about 1 in 65,536 would by chance).
 */
function mineManifest<T extends { annotations: Record<string, string> }>(
  manifest: T,
  broken: boolean,
): Buffer {
  for (let i = 0; ; i++) {
    if (i > 0 || broken)
      manifest.annotations['dev.freshet.test.nonce'] = `${randomBytes(4).toString('hex')}${i}`;
    const body = Buffer.from(JSON.stringify(manifest));
    if (sha256(body).startsWith(brokenDigestPrefix) === broken) return body;
  }
}

/**
 * Basic credentials, or for a token-auth registry the push token they buy at the realm its
 * challenge names, as `docker push` does.
 */
async function pushHeaders(opts: PushImageOptions): Promise<Record<string, string>> {
  if (!opts.auth) return {};
  const basic = `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`;
  const probe = await fetch(`${opts.registryUrl}/v2/`, { headers: { authorization: basic } });
  await probe.body?.cancel();
  const challenge = bearerChallenge(probe.headers.get('www-authenticate'));
  if (probe.status !== 401 || !challenge) return { authorization: basic };
  const realm = tokenUrl({ ...challenge, scope: `repository:${opts.repository}:pull,push` });
  const answer = await fetch(realm, { headers: { authorization: basic } });
  if (answer.status !== 200) throw new Error(`push token from ${realm.origin}: HTTP ${answer.status}`);
  const { token } = (await answer.json()) as { token: string };
  return { authorization: `Bearer ${token}` };
}

export async function pushBlob(
  registryUrl: string,
  repository: string,
  blob: Buffer,
  headers: Record<string, string>,
) {
  const digest = sha256(blob);
  const head = await fetch(`${registryUrl}/v2/${repository}/blobs/${digest}`, { method: 'HEAD', headers });
  if (head.status === 200) return;
  const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers });
  await start.body?.cancel();
  const location = start.headers.get('location');
  if (start.status !== 202 || !location)
    throw new Error(`starting upload to ${repository}: HTTP ${start.status}`);
  const upload = new URL(location, registryUrl);
  upload.searchParams.set('digest', digest);
  const put = await fetch(upload, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: blob,
  });
  if (put.status !== 201)
    throw new Error(`uploading ${digest} to ${repository}: HTTP ${put.status} ${await put.text()}`);
}

export const ociIndex = 'application/vnd.oci.image.index.v1+json';

export interface PushIndexOptions {
  registryUrl: string;
  repository: string;
  tag: string;
  /** `os/architecture[/variant]` of each child; default linux/amd64 and linux/arm64. */
  platforms?: string[];
  /** Build time of the first child; each further child is one minute younger, so tests can tell them apart. */
  created?: Date;
  auth?: { username: string; password: string };
}

export interface PushedIndex extends Omit<PushedImage, 'configDigest'> {
  /** The platform manifests, in the order of `platforms`. */
  children: { platform: string; digest: string; created: string }[];
}

/**
 * Pushes a multi-platform image as a builder does: one image per platform (pushed by digest),
 * then an OCI index that lists them, under the tag. Returns the index digest and the children.
 */
export async function pushIndex(opts: PushIndexOptions): Promise<PushedIndex> {
  const headers: Record<string, string> = {};
  if (opts.auth) {
    headers.authorization = `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`;
  }
  const first = (opts.created ?? new Date()).getTime();
  const platforms = opts.platforms ?? ['linux/amd64', 'linux/arm64'];
  const children: PushedIndex['children'] = [];
  const entries: object[] = [];
  for (const [i, platform] of platforms.entries()) {
    const [os = 'linux', architecture = 'amd64', variant] = platform.split('/');
    const created = new Date(first + i * 60_000).toISOString();
    const tar = tarOneFile(
      'build.txt',
      Buffer.from(`${opts.repository}:${opts.tag} ${platform} built ${created}\n`),
    );
    const layer = gzipSync(tar);
    const config = Buffer.from(
      JSON.stringify({
        created,
        architecture,
        os,
        ...(variant ? { variant } : {}),
        config: { Labels: {} },
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      }),
    );
    await pushBlob(opts.registryUrl, opts.repository, layer, headers);
    await pushBlob(opts.registryUrl, opts.repository, config, headers);
    const manifest = mineManifest(
      oneLayerManifest(config, layer, { 'org.opencontainers.image.created': created }),
      false,
    );
    const digest = await putManifest(
      opts.registryUrl,
      opts.repository,
      sha256(manifest),
      manifest,
      ociManifest,
      headers,
    );
    children.push({ platform, digest, created });
    entries.push({
      mediaType: ociManifest,
      digest,
      size: manifest.length,
      platform: { os, architecture, ...(variant ? { variant } : {}) },
    });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: ociIndex, manifests: entries }));
  const digest = await putManifest(opts.registryUrl, opts.repository, opts.tag, index, ociIndex, headers);
  const host = new URL(opts.registryUrl).host;
  return {
    repository: opts.repository,
    tag: opts.tag,
    digest,
    created: children[0]?.created ?? '',
    reference: `${host}/${opts.repository}:${opts.tag}@${digest}`,
    children,
  };
}

async function putManifest(
  registryUrl: string,
  repository: string,
  reference: string,
  body: Buffer,
  mediaType: string,
  headers: Record<string, string>,
): Promise<string> {
  const url = `${registryUrl}/v2/${repository}/manifests/${reference}`;
  const res = await fetch(url, { method: 'PUT', headers: { ...headers, 'content-type': mediaType }, body });
  if (res.status !== 201) throw new Error(`PUT ${url}: HTTP ${res.status} ${await res.text()}`);
  const digest = sha256(body);
  const echoed = res.headers.get('docker-content-digest');
  if (echoed !== digest) throw new Error(`registry stored ${echoed}, expected ${digest}`);
  return digest;
}
