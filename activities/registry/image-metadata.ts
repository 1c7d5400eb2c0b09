// What a build says about itself: when it was built and from which base (notes/registry.md §2).
// Pure functions over parsed manifests and configs, so the lookup order is unit-tested.
import {
  type Decoded,
  type Descriptor,
  decodeJson,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  imageIndexSchema,
  imageManifestSchema,
  type Platform,
} from './manifest-schemas.ts';
import { isIndexMediaType } from './media-types.ts';
import { formatPlatform } from './platform.ts';
import { isValidDigest } from './references.ts';

export interface ImageMetadata {
  /** The digest asked about: an index digest for multi-platform images. */
  digest: string;
  /** The platform's own manifest; equals `digest` for single-platform images. */
  platformDigest: string;
  configDigest: string;
  /** Build time, ISO 8601 UTC; absent when every source is missing or a placeholder. */
  created?: string;
  createdFrom?: 'annotation' | 'label' | 'config';
  /** `org.opencontainers.image.base.name`: the fully-qualified reference of the immediate base. */
  baseName?: string;
  baseDigest?: string;
  /** Where the base came from: the OCI base annotations (or labels), or BuildKit's provenance. */
  baseFrom?: 'annotation' | 'provenance';
  /** Why a source that was there named no base (a provenance that does not parse, say). */
  baseProblem?: string;
  /** Layer digests of the platform's manifest, bottom first: what layer-prefix lineage compares. */
  layers: string[];
  labels: Record<string, string>;
  /** For an index: each platform's own manifest, so a pod that reports one is known to run this build. */
  platforms?: IndexPlatform[];
}

export interface IndexPlatform {
  digest: string;
  /** `os/architecture[/variant]`. */
  platform: string;
}

/** An index may list any number of entries; the watch state keeps this many. */
export const maxIndexPlatforms = 16;

export const annotationKeys = {
  created: 'org.opencontainers.image.created',
  baseName: 'org.opencontainers.image.base.name',
  baseDigest: 'org.opencontainers.image.base.digest',
  labelSchemaBuildDate: 'org.label-schema.build-date',
} as const;

export type ParsedManifest =
  | { kind: 'index'; index: ImageIndex }
  | { kind: 'manifest'; manifest: ImageManifest };

/**
 * Reads a manifest body as an index or an image manifest: by its own `mediaType`, else the
 * Content-Type it came with, else its shape (Docker schema2 manifests may omit the field).
 */
export function parseManifest(body: Uint8Array, contentType: string | undefined): Decoded<ParsedManifest> {
  const probe = decodeJson(imageIndexSchema.or(imageManifestSchema), body);
  if (!probe.ok) return probe;
  const declared = probe.value.mediaType ?? contentType;
  const isIndex = declared ? isIndexMediaType(declared) : 'manifests' in probe.value;
  if (isIndex) {
    const index = decodeJson(imageIndexSchema, body);
    return index.ok ? { ok: true, value: { kind: 'index', index: index.value } } : index;
  }
  const manifest = decodeJson(imageManifestSchema, body);
  return manifest.ok ? { ok: true, value: { kind: 'manifest', manifest: manifest.value } } : manifest;
}

const isAttestation = (d: Descriptor) =>
  d.annotations['vnd.docker.reference.type'] === 'attestation-manifest' || d.platform?.os === 'unknown';

/**
 * The index entry for a platform. Without a requested variant, an entry without a variant wins
 * over one with; `arm64` with variant `v8` also matches an entry that leaves the variant out.
 */
export function selectPlatformManifest(index: ImageIndex, platform: Platform): Descriptor | undefined {
  const candidates = index.manifests.filter(
    (d) =>
      !isAttestation(d) &&
      d.platform?.os === platform.os &&
      d.platform.architecture === platform.architecture,
  );
  if (platform.variant) {
    const impliedV8 = platform.architecture === 'arm64' && platform.variant === 'v8';
    return candidates.find(
      (d) => d.platform?.variant === platform.variant || (impliedV8 && !d.platform?.variant),
    );
  }
  return candidates.find((d) => !d.platform?.variant) ?? candidates[0];
}

/** `linux/amd64, linux/arm64/v8`: what an index offers, for the error when nothing matches. */
export function describePlatforms(index: ImageIndex): string {
  const names = index.manifests
    .filter((d) => d.platform && !isAttestation(d))
    .map((d) => [d.platform?.os, d.platform?.architecture, d.platform?.variant].filter(Boolean).join('/'));
  return names.length ? names.join(', ') : 'none';
}

const platformName = /^[a-z0-9]{1,32}\/[a-z0-9_]{1,32}(\/[a-z0-9]{1,32})?$/;

/**
 * The platform manifests of an index, at most maxIndexPlatforms, for the watch state: attestations
 * and entries whose digest or platform is not well-formed (the index is the registry's word) are left out.
 */
export function indexPlatforms(index: ImageIndex): IndexPlatform[] {
  return index.manifests
    .flatMap((d) => {
      if (!d.platform || isAttestation(d) || !isValidDigest(d.digest)) return [];
      const platform = formatPlatform(d.platform);
      return platformName.test(platform) ? [{ digest: d.digest, platform }] : [];
    })
    .slice(0, maxIndexPlatforms);
}

/** Anything at or before 1980 is a reproducible-build placeholder (epoch, SOURCE_DATE_EPOCH, zip time). */
const placeholderUntil = Date.UTC(1980, 0, 1);
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

function buildTimeFrom(value: string | undefined): string | undefined {
  if (!value || !rfc3339.test(value.trim())) return undefined;
  const at = Date.parse(value.trim());
  return Number.isNaN(at) || at <= placeholderUntil ? undefined : new Date(at).toISOString();
}

export interface ImageDocuments {
  digest: string;
  /** The index the image was resolved through, with the entry chosen for the platform. */
  index?: { index: ImageIndex; entry: Descriptor };
  platformDigest: string;
  manifest: ImageManifest;
  config: ImageConfig;
}

/**
 * Build time and base from the most to the least trustworthy source: annotations (set by the
 * builder, per platform first), then config labels, then config `created`, which reproducible
 * builds fake.
 */
export function describeImage(docs: ImageDocuments): ImageMetadata {
  const annotationSources = [
    docs.manifest.annotations,
    docs.index?.entry.annotations,
    docs.index?.index.annotations,
  ];
  const labels = docs.config.config.Labels;

  const metadata: ImageMetadata = {
    digest: docs.digest,
    platformDigest: docs.platformDigest,
    configDigest: docs.manifest.config.digest,
    layers: (docs.manifest.layers ?? []).map((l) => l.digest),
    labels,
    ...(docs.index ? { platforms: indexPlatforms(docs.index.index) } : {}),
  };

  const createdCandidates: Array<[string | undefined, ImageMetadata['createdFrom']]> = [
    ...annotationSources.map((a): [string | undefined, 'annotation'] => [
      a?.[annotationKeys.created],
      'annotation',
    ]),
    [labels[annotationKeys.created], 'label'],
    [labels[annotationKeys.labelSchemaBuildDate], 'label'],
    [docs.config.created, 'config'],
  ];
  for (const [value, source] of createdCandidates) {
    const created = buildTimeFrom(value);
    if (created) {
      metadata.created = created;
      metadata.createdFrom = source;
      break;
    }
  }

  // Name and digest come from the same place, so a label cannot pair with another base's annotation.
  const baseSource = [...annotationSources, labels].find(
    (s) => s?.[annotationKeys.baseName] || s?.[annotationKeys.baseDigest],
  );
  const baseName = baseSource?.[annotationKeys.baseName];
  const baseDigest = baseSource?.[annotationKeys.baseDigest];
  if (baseName) metadata.baseName = baseName;
  if (baseDigest) metadata.baseDigest = baseDigest;
  if (baseSource) metadata.baseFrom = 'annotation';
  return metadata;
}
