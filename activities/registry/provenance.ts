// The base image from the SLSA provenance BuildKit attaches to an image index (moby/buildkit
// docs/attestations/attestation-storage.md): BuildKit never writes the OCI base annotations,
// but its provenance lists every image the build used. Everything read here is hostile input:
// bounded, verified against its digest, parsed with zod; a bad attestation is a reason, never
// a failed check.
import { z } from 'zod';
import { dockerRepository, parseDockerPurl } from './docker-purl.ts';
import { RegistryError } from './errors.ts';
import { layersStartWith } from './lineage.ts';
import type { Descriptor, ImageIndex, ImageManifest, Platform } from './manifest-schemas.ts';

export const provenancePredicates = ['https://slsa.dev/provenance/v0.2', 'https://slsa.dev/provenance/v1'];
export const inTotoMediaType = 'application/vnd.in-toto+json';
/** BuildKit's provenance of a large build is tens of KiB; anything near this is not one. */
export const maxProvenanceBytes = 4 * 1024 * 1024;

const referenceType = 'vnd.docker.reference.type';
const referenceDigest = 'vnd.docker.reference.digest';
const predicateTypeAnnotation = 'in-toto.io/predicate-type';
const buildkitMetadataV02 = 'https://mobyproject.org/buildkit@v1#metadata';
/** The Dockerfile frontend is pulled as an image and listed among the materials; it is no base. */
const frontendRepositories = new Set(['docker.io/docker/dockerfile', 'docker.io/docker/dockerfile-upstream']);

const digestSet = z.record(z.string(), z.string()).catch({});
const material = z.looseObject({ uri: z.string().optional(), digest: digestSet.optional() });
const materials = z.array(z.unknown()).transform((items) =>
  items.flatMap((item) => {
    const parsed = material.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  }),
);
const request = z.looseObject({
  frontend: z.string().optional(),
  args: z.record(z.string(), z.unknown()).optional(),
});
const llbStep = z.looseObject({
  id: z.string(),
  op: z
    .looseObject({
      Op: z.looseObject({ source: z.looseObject({ identifier: z.string() }).optional() }).nullish(),
    })
    .optional(),
});
const llbDefinition = z.array(z.unknown()).transform((steps) =>
  steps.flatMap((step) => {
    const parsed = llbStep.safeParse(step);
    return parsed.success ? [parsed.data] : [];
  }),
);
/** Per LLB output (`step3:0`), the layers it was seen as: one list per sighting. */
const layerMap = z.record(
  z.string(),
  z.array(z.array(z.looseObject({ digest: z.string() })).catch([])).catch([]),
);
const buildkitMetadata = z.looseObject({ layers: layerMap.optional() }).optional().catch(undefined);

const predicateV02 = z.looseObject({
  materials: materials.optional(),
  invocation: z
    .looseObject({ parameters: request.optional().catch(undefined) })
    .optional()
    .catch(undefined),
  buildConfig: z.looseObject({ llbDefinition: llbDefinition.optional() }).optional().catch(undefined),
  metadata: z
    .looseObject({ [buildkitMetadataV02]: buildkitMetadata })
    .optional()
    .catch(undefined),
});

const predicateV1 = z.looseObject({
  buildDefinition: z.looseObject({
    externalParameters: z
      .looseObject({ request: request.optional().catch(undefined) })
      .optional()
      .catch(undefined),
    internalParameters: z
      .looseObject({
        buildConfig: z.looseObject({ llbDefinition: llbDefinition.optional() }).optional().catch(undefined),
      })
      .optional()
      .catch(undefined),
    resolvedDependencies: materials.optional(),
  }),
  runDetails: z
    .looseObject({
      metadata: z.looseObject({ buildkit_metadata: buildkitMetadata }).optional().catch(undefined),
    })
    .optional()
    .catch(undefined),
});

const statementSchema = z.looseObject({
  _type: z.string().optional(),
  subject: z.array(z.looseObject({ name: z.string().optional(), digest: digestSet })),
  predicateType: z.string(),
  predicate: z.unknown(),
});

/** What a provenance says about how the image was built, in one shape for v0.2 and v1. */
export interface BuildRecord {
  predicateType: string;
  subjects: string[];
  materials: { uri: string; digest?: string }[];
  /** The image a gateway frontend ran (`docker/dockerfile:1`), listed among the materials. */
  frontendSource?: string;
  /** LLB steps that pull an image: step id → `docker.io/library/alpine:3.20@sha256:…`. */
  imageSteps: Map<string, string>;
  /** LLB output → the layer lists BuildKit recorded for it (mode=max only). */
  stepLayers: Map<string, string[][]>;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

const sha256Of = (digests: Record<string, string> | undefined) => {
  const hex = digests?.sha256;
  return hex && /^[a-f0-9]{64}$/.test(hex) ? `sha256:${hex}` : undefined;
};

/** Reads an in-toto Statement carrying SLSA provenance v0.2 or v1. */
export function parseProvenance(body: Uint8Array): Parsed<BuildRecord> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return { ok: false, problem: `not JSON (${body.byteLength} bytes)` };
  }
  const statement = statementSchema.safeParse(json);
  if (!statement.success)
    return { ok: false, problem: `not an in-toto statement (${firstIssue(statement.error)})` };
  const { predicateType, predicate } = statement.data;
  const subjects = statement.data.subject.flatMap((s) => sha256Of(s.digest) ?? []);

  if (predicateType === 'https://slsa.dev/provenance/v0.2') {
    const p = predicateV02.safeParse(predicate);
    if (!p.success) return { ok: false, problem: `not SLSA provenance v0.2 (${firstIssue(p.error)})` };
    return {
      ok: true,
      value: record(predicateType, subjects, {
        materials: p.data.materials,
        request: p.data.invocation?.parameters,
        steps: p.data.buildConfig?.llbDefinition,
        layers: p.data.metadata?.[buildkitMetadataV02]?.layers,
      }),
    };
  }
  if (predicateType === 'https://slsa.dev/provenance/v1') {
    const p = predicateV1.safeParse(predicate);
    if (!p.success) return { ok: false, problem: `not SLSA provenance v1 (${firstIssue(p.error)})` };
    const build = p.data.buildDefinition;
    return {
      ok: true,
      value: record(predicateType, subjects, {
        materials: build.resolvedDependencies,
        request: build.externalParameters?.request,
        steps: build.internalParameters?.buildConfig?.llbDefinition,
        layers: p.data.runDetails?.metadata?.buildkit_metadata?.layers,
      }),
    };
  }
  return {
    ok: false,
    problem: `predicate type ${JSON.stringify(predicateType.slice(0, 100))} is not SLSA provenance`,
  };
}

function record(
  predicateType: string,
  subjects: string[],
  from: {
    materials: z.infer<typeof materials> | undefined;
    request: z.infer<typeof request> | undefined;
    steps: z.infer<typeof llbDefinition> | undefined;
    layers: z.infer<typeof layerMap> | undefined;
  },
): BuildRecord {
  const imageSteps = new Map<string, string>();
  for (const step of from.steps ?? []) {
    const identifier = step.op?.Op?.source?.identifier;
    if (identifier?.startsWith('docker-image://'))
      imageSteps.set(step.id, identifier.slice('docker-image://'.length));
  }
  const stepLayers = new Map<string, string[][]>();
  for (const [output, sightings] of Object.entries(from.layers ?? {})) {
    stepLayers.set(
      output,
      sightings.map((list) => list.map((layer) => layer.digest)),
    );
  }
  const source = from.request?.args?.source;
  return {
    predicateType,
    subjects,
    materials: (from.materials ?? []).flatMap((m) => {
      if (!m.uri) return [];
      const digest = sha256Of(m.digest);
      return [{ uri: m.uri, ...(digest ? { digest } : {}) }];
    }),
    ...(typeof source === 'string' ? { frontendSource: source } : {}),
    imageSteps,
    stepLayers,
  };
}

export interface ProvenanceBase {
  /** Reference of the base as the build resolved it: `docker.io/library/alpine:3.20`. */
  name: string;
  digest?: string;
  /** Which rule picked it among the build's images. */
  rule: 'final-stage' | 'last-image';
}

/**
 * The base among the images a build used (BuildKit lists all of them, builder stages too):
 * the image whose layers, as the provenance records them, are the first layers of the image
 * (the final stage's FROM; mode=max only), else the last image material, preferring those
 * pulled for the image's own platform. The Dockerfile frontend is never the base.
 */
export function chooseBase(
  build: BuildRecord,
  image: { layers: readonly string[]; platform: Platform },
): Parsed<ProvenanceBase> {
  const frontend = build.frontendSource ? repositoryKey(build.frontendSource) : undefined;
  const images = build.materials.flatMap((m) => {
    const purl = parseDockerPurl(m.uri);
    if (!purl) return [];
    const key = `${purl.host}/${purl.repository}`;
    if (frontendRepositories.has(key) || key === frontend) return [];
    return [{ purl, digest: m.digest ?? purl.digest }];
  });
  if (images.length === 0) {
    const count = build.materials.length;
    return {
      ok: false,
      problem: `provenance lists no base image among its ${count} material${count === 1 ? '' : 's'}`,
    };
  }
  const named = (
    candidate: (typeof images)[number],
    rule: ProvenanceBase['rule'],
  ): Parsed<ProvenanceBase> => ({
    ok: true,
    value: {
      name: baseName(candidate.purl),
      ...(candidate.digest ? { digest: candidate.digest } : {}),
      rule,
    },
  });

  const finalStage = finalStageImage(build, image.layers);
  if (finalStage) {
    const digest = /@(sha256:[a-f0-9]{64})$/.exec(finalStage)?.[1];
    const key = repositoryKey(finalStage);
    const match =
      images.find((i) => digest !== undefined && i.digest === digest) ??
      images.findLast((i) => key !== undefined && `${i.purl.host}/${i.purl.repository}` === key);
    if (match) return named(match, 'final-stage');
  }
  const wanted = [image.platform.os, image.platform.architecture, image.platform.variant]
    .filter(Boolean)
    .join('/');
  const forPlatform = images.filter((i) => i.purl.platform === wanted);
  const last = (forPlatform.length > 0 ? forPlatform : images).at(-1);
  return last ? named(last, 'last-image') : { ok: false, problem: 'provenance lists no base image' };
}

/** The image-pulling LLB step whose recorded layers lead the image's layers; the longest wins. */
function finalStageImage(build: BuildRecord, layers: readonly string[]): string | undefined {
  let best: { ref: string; length: number } | undefined;
  for (const [step, ref] of build.imageSteps) {
    for (const [output, sightings] of build.stepLayers) {
      if (!output.startsWith(`${step}:`)) continue;
      for (const list of sightings) {
        if (layersStartWith(layers, list) && list.length > (best?.length ?? 0))
          best = { ref, length: list.length };
      }
    }
  }
  return best?.ref;
}

/** The reference to watch: by tag when the build named one, so its moves can be seen. */
function baseName(purl: NonNullable<ReturnType<typeof parseDockerPurl>>): string {
  const at = `${purl.host}/${purl.repository}`;
  if (purl.tag) return `${at}:${purl.tag}`;
  return purl.digest ? `${at}@${purl.digest}` : at;
}

/** `docker.io/library/alpine` for `alpine:3.20@sha256:…` or `docker.io/library/alpine:3.20`. */
function repositoryKey(reference: string): string | undefined {
  const withoutDigest = reference.replace(/@.*$/, '');
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const name = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
  const location = dockerRepository(name);
  return location ? `${location.host}/${location.repository}` : undefined;
}

/** The attestation manifest BuildKit attached for one platform manifest of an index. */
export function attestationFor(index: ImageIndex, platformDigest: string): Descriptor | undefined {
  return index.manifests.find(
    (d) =>
      d.annotations[referenceType] === 'attestation-manifest' &&
      d.annotations[referenceDigest] === platformDigest,
  );
}

/** The provenance layer of an attestation manifest (its SBOM and other layers are not fetched). */
export function provenanceLayer(manifest: ImageManifest): Parsed<Descriptor> {
  const layers = manifest.layers ?? [];
  const layer = layers.find(
    (l) =>
      l.mediaType === inTotoMediaType &&
      provenancePredicates.includes(l.annotations[predicateTypeAnnotation] ?? ''),
  );
  if (layer) return { ok: true, value: layer };
  const predicates = layers.map((l) => l.annotations[predicateTypeAnnotation] ?? l.mediaType ?? 'unknown');
  return {
    ok: false,
    problem: `the attestation holds no SLSA provenance (${predicates.length > 0 ? predicates.slice(0, 5).join(', ') : 'no layers'})`,
  };
}

export interface ProvenanceSource {
  /** An attestation manifest by digest, verified against it. */
  manifest(digest: string): Promise<ImageManifest>;
  /** A blob by digest, verified against it, refused above `maxBytes`. */
  blob(digest: string, maxBytes: number): Promise<Uint8Array>;
}

export type ProvenanceResult =
  | { found: true; base: ProvenanceBase }
  /** No attestation for this platform: the image simply has no provenance. */
  | { found: false; problem?: undefined }
  | { found: false; problem: string };

/**
 * The base of one platform's image from its provenance: one GET of the attestation manifest
 * and one of the provenance blob, only for the platform watched. Throws only what retrying
 * can fix (a 503, a timeout); everything else is a problem in the result.
 */
export async function readProvenanceBase(
  source: ProvenanceSource,
  image: { index: ImageIndex; platformDigest: string; layers: readonly string[]; platform: Platform },
): Promise<ProvenanceResult> {
  const entry = attestationFor(image.index, image.platformDigest);
  if (!entry) return { found: false };
  const fail = (problem: string): ProvenanceResult => ({ found: false, problem: `provenance: ${problem}` });
  try {
    const layer = provenanceLayer(await source.manifest(entry.digest));
    if (!layer.ok) return fail(layer.problem);
    if (layer.value.size !== undefined && layer.value.size > maxProvenanceBytes) {
      return fail(`${layer.value.size} bytes, above the ${maxProvenanceBytes / 1024 / 1024} MiB read`);
    }
    const build = parseProvenance(await source.blob(layer.value.digest, maxProvenanceBytes));
    if (!build.ok) return fail(build.problem);
    if (!build.value.subjects.includes(image.platformDigest)) {
      return fail(
        `its subject is ${build.value.subjects[0] ?? 'missing'}, not the platform manifest ${image.platformDigest}`,
      );
    }
    const base = chooseBase(build.value, image);
    return base.ok ? { found: true, base: base.value } : fail(base.problem);
  } catch (err) {
    // A registry that may answer next time fails the check, which is tried again next cycle;
    // anything else would fail the same way, so it is the answer for this digest.
    if (err instanceof RegistryError && err.retryable) throw err;
    return fail(err instanceof Error ? err.message : String(err));
  }
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue
    ? `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`
    : 'unexpected shape';
}
