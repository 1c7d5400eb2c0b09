import { describe, expect, it } from 'vitest';
import {
  describeImage,
  indexPlatforms,
  selectPlatformManifest,
} from '../../../activities/registry/image-metadata.ts';
import {
  imageConfigSchema,
  imageIndexSchema,
  imageManifestSchema,
} from '../../../activities/registry/manifest-schemas.ts';
import { formatPlatform, parsePlatform, platformServes } from '../../../activities/registry/platform.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;

const twoPlatforms = imageIndexSchema.parse({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    { digest: d('a'), platform: { os: 'linux', architecture: 'amd64' } },
    { digest: d('b'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    {
      digest: d('c'),
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: {
        'vnd.docker.reference.type': 'attestation-manifest',
        'vnd.docker.reference.digest': d('a'),
      },
    },
  ],
});

describe('platform of an image', () => {
  it('parses the config key into what an index lists, and back', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('linux/arm/v7');
  });

  it('picks the child of the configured platform for metadata and lineage', () => {
    const arm = selectPlatformManifest(twoPlatforms, parsePlatform('linux/arm64'));
    expect(arm?.digest).toBe(d('b'));
    expect(selectPlatformManifest(twoPlatforms, parsePlatform('linux/arm64/v8'))?.digest).toBe(d('b'));
    expect(selectPlatformManifest(twoPlatforms, parsePlatform('linux/amd64'))?.digest).toBe(d('a'));
    expect(selectPlatformManifest(twoPlatforms, parsePlatform('linux/s390x'))).toBeUndefined();
    // Build time and base come from the chosen child's manifest, not another platform's.
    const manifest = imageManifestSchema.parse({
      schemaVersion: 2,
      config: { digest: d('e') },
      annotations: {
        'org.opencontainers.image.created': '2026-10-02T00:00:00Z',
        'org.opencontainers.image.base.name': 'docker.io/library/debian:12',
      },
    });
    const meta = describeImage({
      digest: d('1'),
      platformDigest: arm?.digest ?? '',
      index: { index: twoPlatforms, entry: arm ?? twoPlatforms.manifests[0]! },
      manifest,
      config: imageConfigSchema.parse({ config: {} }),
    });
    expect(meta).toMatchObject({
      digest: d('1'),
      platformDigest: d('b'),
      created: '2026-10-02T00:00:00.000Z',
      baseName: 'docker.io/library/debian:12',
    });
  });

  it("records the index's platform manifests, attestations and malformed entries left out, at most 16", () => {
    expect(indexPlatforms(twoPlatforms)).toEqual([
      { digest: d('a'), platform: 'linux/amd64' },
      { digest: d('b'), platform: 'linux/arm64/v8' },
    ]);
    const hostile = imageIndexSchema.parse({
      schemaVersion: 2,
      manifests: [
        { digest: 'sha256:short', platform: { os: 'linux', architecture: 'amd64' } },
        { digest: d('f'), platform: { os: 'linux', architecture: 'x'.repeat(500) } },
        { digest: d('9') },
        ...Array.from({ length: 40 }, () => ({
          digest: d('7'),
          platform: { os: 'linux', architecture: 'riscv64' },
        })),
      ],
    });
    const kept = indexPlatforms(hostile);
    expect(kept).toHaveLength(16);
    expect(kept.every((p) => p.digest === d('7') && p.platform === 'linux/riscv64')).toBe(true);
  });

  it('tells whether an index entry serves a node, whose labels name no variant', () => {
    expect(platformServes('linux/arm64/v8', 'linux/arm64')).toBe(true);
    expect(platformServes('linux/arm64', 'linux/arm64/v8')).toBe(true);
    expect(platformServes('linux/amd64', 'linux/arm64')).toBe(false);
    expect(platformServes('windows/amd64', 'linux/amd64')).toBe(false);
    expect(platformServes('linux/arm/v6', 'linux/arm/v7')).toBe(false);
    expect(platformServes('linux/arm/v7', 'linux/arm')).toBe(true);
  });
});
