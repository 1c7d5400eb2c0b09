// Pushes an OCI artifact that refers to an image through `subject`, the way cosign 3 stores a
// signature bundle: an image manifest (untagged, by digest) whose config carries the artifact
// type, for registries of the OCI 1.1 release candidates, and whose `artifactType` says it
// again for those of the final 1.1.
import { createHash } from 'node:crypto';
import { ociManifest, type PushedImage, pushBlob } from './image-pusher.ts';

export interface PushedReferrer {
  digest: string;
  artifactType: string;
  size: number;
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export async function pushReferrer(opts: {
  registryUrl: string;
  repository: string;
  subject: Pick<PushedImage, 'digest'>;
  artifactType: string;
  auth?: { username: string; password: string };
  /** Also tag it (by default it is reachable only by digest and through the referrers API). */
  tag?: string;
}): Promise<PushedReferrer> {
  const headers: Record<string, string> = {};
  if (opts.auth) {
    headers.authorization = `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`;
  }
  const subjectRes = await fetch(
    `${opts.registryUrl}/v2/${opts.repository}/manifests/${opts.subject.digest}`,
    {
      method: 'HEAD',
      headers: { ...headers, accept: ociManifest },
    },
  );
  await subjectRes.body?.cancel();
  if (subjectRes.status !== 200) throw new Error(`subject ${opts.subject.digest}: HTTP ${subjectRes.status}`);
  const config = Buffer.from('{}');
  const payload = Buffer.from(JSON.stringify({ signed: opts.subject.digest }));
  await pushBlob(opts.registryUrl, opts.repository, config, headers);
  await pushBlob(opts.registryUrl, opts.repository, payload, headers);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifest,
      artifactType: opts.artifactType,
      config: { mediaType: opts.artifactType, digest: sha256(config), size: config.length },
      layers: [
        {
          mediaType: 'application/vnd.dev.freshet.test.payload+json',
          digest: sha256(payload),
          size: payload.length,
        },
      ],
      subject: {
        mediaType: subjectRes.headers.get('content-type') ?? ociManifest,
        digest: opts.subject.digest,
        size: Number(subjectRes.headers.get('content-length')),
      },
      annotations: { 'org.opencontainers.image.created': new Date().toISOString() },
    }),
  );
  const digest = sha256(manifest);
  const url = `${opts.registryUrl}/v2/${opts.repository}/manifests/${opts.tag ?? digest}`;
  const res = await fetch(url, {
    method: 'PUT',
    headers: { ...headers, 'content-type': ociManifest },
    body: manifest,
  });
  if (res.status !== 201) throw new Error(`PUT ${url}: HTTP ${res.status} ${await res.text()}`);
  return { digest, artifactType: opts.artifactType, size: manifest.length };
}
