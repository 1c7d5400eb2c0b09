import { describe, expect, it } from 'vitest';
import {
  describeImage,
  describePlatforms,
  type ImageDocuments,
  parseManifest,
  selectPlatformManifest,
} from '../../../activities/registry/image-metadata.ts';
import {
  imageConfigSchema,
  imageIndexSchema,
  imageManifestSchema,
} from '../../../activities/registry/manifest-schemas.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

const index = imageIndexSchema.parse({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    { digest: d('1'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { digest: d('2'), platform: { os: 'linux', architecture: 'amd64', variant: 'v3' } },
    { digest: d('3'), platform: { os: 'linux', architecture: 'amd64' }, annotations: { 'x.entry': 'yes' } },
    {
      digest: d('4'),
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: {
        'vnd.docker.reference.type': 'attestation-manifest',
        'vnd.docker.reference.digest': d('3'),
      },
    },
    { digest: d('5'), platform: { os: 'windows', architecture: 'amd64' } },
  ],
  annotations: { 'org.opencontainers.image.created': '2026-10-01T00:00:00Z' },
});

describe('selectPlatformManifest', () => {
  it('prefers the entry without a variant when none is asked for', () => {
    expect(selectPlatformManifest(index, { os: 'linux', architecture: 'amd64' })?.digest).toBe(d('3'));
  });

  it('matches an asked-for variant, and arm64/v8 also matches an arm64 entry without one', () => {
    expect(selectPlatformManifest(index, { os: 'linux', architecture: 'amd64', variant: 'v3' })?.digest).toBe(
      d('2'),
    );
    expect(selectPlatformManifest(index, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.digest).toBe(
      d('1'),
    );
    const bare = imageIndexSchema.parse({
      schemaVersion: 2,
      manifests: [{ digest: d('6'), platform: { os: 'linux', architecture: 'arm64' } }],
    });
    expect(selectPlatformManifest(bare, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.digest).toBe(
      d('6'),
    );
  });

  it('never picks attestation manifests, and says what the index offers when nothing matches', () => {
    expect(selectPlatformManifest(index, { os: 'unknown', architecture: 'unknown' })).toBeUndefined();
    expect(selectPlatformManifest(index, { os: 'linux', architecture: 's390x' })).toBeUndefined();
    expect(describePlatforms(index)).toBe('linux/arm64/v8, linux/amd64/v3, linux/amd64, windows/amd64');
  });
});

describe('parseManifest', () => {
  const manifest = {
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: d('c'), size: 10 },
    layers: [],
  };

  it('tells an index from a manifest by mediaType, Content-Type or shape', () => {
    const byField = parseManifest(bytes(index), undefined);
    expect(byField.ok && byField.value.kind).toBe('index');
    const byHeader = parseManifest(bytes(manifest), 'application/vnd.docker.distribution.manifest.v2+json');
    expect(byHeader.ok && byHeader.value.kind).toBe('manifest');
    const byShape = parseManifest(bytes({ schemaVersion: 2, manifests: [] }), undefined);
    expect(byShape.ok && byShape.value.kind).toBe('index');
  });

  it('rejects schema1, garbage and an index that lacks its manifests', () => {
    expect(parseManifest(bytes({ schemaVersion: 1, fsLayers: [] }), undefined).ok).toBe(false);
    expect(parseManifest(new TextEncoder().encode('not json'), undefined)).toEqual({
      ok: false,
      problem: 'malformed answer: not JSON (8 bytes)',
    });
    const wrong = parseManifest(
      bytes({ schemaVersion: 2, config: 'x' }),
      'application/vnd.oci.image.index.v1+json',
    );
    expect(wrong.ok).toBe(false);
  });
});

function docs(opts: {
  manifestAnnotations?: Record<string, string>;
  labels?: Record<string, string> | null;
  created?: string;
  viaIndex?: boolean;
}): ImageDocuments {
  const manifest = imageManifestSchema.parse({
    schemaVersion: 2,
    config: { digest: d('c') },
    annotations: opts.manifestAnnotations,
  });
  const config = imageConfigSchema.parse({ created: opts.created, config: { Labels: opts.labels } });
  const entry = index.manifests[2];
  return {
    digest: opts.viaIndex ? d('9') : d('3'),
    platformDigest: d('3'),
    manifest,
    config,
    ...(opts.viaIndex && entry ? { index: { index, entry } } : {}),
  };
}

describe('describeImage', () => {
  it('takes the build time from the manifest annotation first', () => {
    const meta = describeImage(
      docs({
        manifestAnnotations: { 'org.opencontainers.image.created': '2026-11-01T10:00:00.123456789+01:00' },
        labels: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
        created: '2025-01-01T00:00:00Z',
      }),
    );
    expect(meta).toMatchObject({ created: '2026-11-01T09:00:00.123Z', createdFrom: 'annotation' });
  });

  it("falls back to the index's annotation, then labels, then config created", () => {
    expect(describeImage(docs({ viaIndex: true, created: '2025-01-01T00:00:00Z' }))).toMatchObject({
      digest: d('9'),
      platformDigest: d('3'),
      created: '2026-10-01T00:00:00.000Z',
      createdFrom: 'annotation',
    });
    expect(
      describeImage(
        docs({
          labels: { 'org.label-schema.build-date': '2026-02-03T04:05:06Z' },
          created: '2025-01-01T00:00:00Z',
        }),
      ),
    ).toMatchObject({ created: '2026-02-03T04:05:06.000Z', createdFrom: 'label' });
    expect(describeImage(docs({ created: '2025-01-01T00:00:00Z' }))).toMatchObject({
      created: '2025-01-01T00:00:00.000Z',
      createdFrom: 'config',
    });
  });

  it('ignores the epoch and other placeholders and unreadable values', () => {
    const meta = describeImage(
      docs({
        manifestAnnotations: { 'org.opencontainers.image.created': 'yesterday' },
        labels: { 'org.opencontainers.image.created': '1980-01-01T00:00:00Z' },
        created: '1970-01-01T00:00:00Z',
      }),
    );
    expect(meta.created).toBeUndefined();
    expect(meta.createdFrom).toBeUndefined();
  });

  it('reads the base from annotations before labels, name and digest from the same source', () => {
    const base = { name: 'docker.io/library/debian:12', digest: d('b') };
    const meta = describeImage(
      docs({
        manifestAnnotations: {
          'org.opencontainers.image.base.name': base.name,
          'org.opencontainers.image.base.digest': base.digest,
        },
        labels: {
          'org.opencontainers.image.base.name': 'other:1',
          'org.opencontainers.image.base.digest': d('e'),
        },
      }),
    );
    expect(meta).toMatchObject({ baseName: base.name, baseDigest: base.digest });

    const fromLabels = describeImage(docs({ labels: { 'org.opencontainers.image.base.digest': d('e') } }));
    expect(fromLabels.baseDigest).toBe(d('e'));
    expect(fromLabels.baseName).toBeUndefined();
  });

  it('returns the config labels, empty when the config has none', () => {
    expect(describeImage(docs({ labels: { team: 'web' } })).labels).toEqual({ team: 'web' });
    expect(describeImage(docs({ labels: null })).labels).toEqual({});
    expect(describeImage(docs({})).configDigest).toBe(d('c'));
  });
});
