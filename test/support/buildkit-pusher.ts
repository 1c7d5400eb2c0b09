// Pushes images the way BuildKit lays them out, over the Distribution API: platform manifests
// whose first layers are their base's own (mounted from the base's repository, as a builder
// does), and an index that carries one attestation manifest per platform with an SBOM and an
// SLSA provenance layer (moby/buildkit docs/attestations/attestation-storage.md). No Docker.
import { gzipSync } from 'node:zlib';
import { manifestAccept, ociManifest, pushBlob, sha256, tarOneFile } from './image-pusher.ts';

const ociIndex = 'application/vnd.oci.image.index.v1+json';
const ociConfig = 'application/vnd.oci.image.config.v1+json';
const layerType = 'application/vnd.oci.image.layer.v1.tar+gzip';
const inToto = 'application/vnd.in-toto+json';

export interface Layer {
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar, for the config's rootfs. */
  diffId: string;
  /** Where the blob lives, so an image built on it can mount it. */
  repository: string;
}

export interface LayeredImage {
  repository: string;
  tag: string;
  digest: string;
  layers: Layer[];
  /** `host:port/repository:tag@digest`. */
  reference: string;
}

export interface BuildkitImage {
  repository: string;
  tag: string;
  /** The index digest: what the tag resolves to. */
  digest: string;
  reference: string;
  /** Per platform (`linux/arm64`): its manifest digest and layers. */
  platforms: Record<string, { digest: string; layers: Layer[] }>;
  /** Per platform: the attestation manifest's digest. */
  attestations: Record<string, string>;
}

/** An image a build used, as BuildKit records it: its purl and the layers it contributed. */
export interface BuildInput {
  /** `pkg:docker/127.0.0.1%3A5000/acme/base@3.20?platform=linux%2Famd64` */
  purl: string;
  /** The digest the build resolved (an index digest for a multi-platform image). */
  digest: string;
  /** `127.0.0.1:5000/acme/base:3.20`, as in the LLB source identifier. */
  ref: string;
  /** Per platform, the layers BuildKit recorded for this source (mode=max only). */
  layers?: Record<string, Layer[]>;
}

export interface ProvenanceSpec {
  version: 'v0.2' | 'v1';
  mode: 'min' | 'max';
  /** The images used, in the order BuildKit lists them; `finalStage` is the FROM of the last stage. */
  inputs: BuildInput[];
  finalStage?: BuildInput;
  /** Replaces the provenance blob of every platform (for hostile-input tests). */
  rawStatement?: Buffer;
}

interface Push {
  registryUrl: string;
  repository: string;
  tag: string;
  created?: Date;
}

/** One platform's manifest: the base's layers first, then one layer of its own. */
async function pushPlatformManifest(
  opts: Push & { platform: string; on?: Layer[] },
): Promise<{ digest: string; layers: Layer[]; body: Buffer }> {
  const created = (opts.created ?? new Date()).toISOString();
  const [os = 'linux', architecture = 'amd64', variant] = opts.platform.split('/');
  const tar = tarOneFile(
    'build.txt',
    Buffer.from(`${opts.repository}:${opts.tag} ${opts.platform} built ${created} ${Math.random()}\n`),
  );
  const blob = gzipSync(tar);
  await pushBlob(opts.registryUrl, opts.repository, blob, {});
  const own: Layer = {
    digest: sha256(blob),
    size: blob.length,
    diffId: sha256(tar),
    repository: opts.repository,
  };
  for (const layer of opts.on ?? []) await mountBlob(opts.registryUrl, opts.repository, layer);
  const layers = [...(opts.on ?? []).map((l) => ({ ...l, repository: opts.repository })), own];
  const config = Buffer.from(
    JSON.stringify({
      created,
      architecture,
      os,
      ...(variant ? { variant } : {}),
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created, created_by: 'freshet test layered build' })),
    }),
  );
  await pushBlob(opts.registryUrl, opts.repository, config, {});
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifest,
      config: { mediaType: ociConfig, digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: layerType, digest: l.digest, size: l.size })),
    }),
  );
  return { digest: sha256(body), layers, body };
}

/** A single-platform image (no index) whose first layers are `on`'s. */
export async function pushLayeredImage(opts: Push & { on?: { layers: Layer[] } }): Promise<LayeredImage> {
  const { on, ...push } = opts;
  const image = await pushPlatformManifest({
    ...push,
    platform: 'linux/amd64',
    ...(on ? { on: on.layers } : {}),
  });
  await putManifest(opts.registryUrl, opts.repository, opts.tag, image.body, ociManifest);
  const host = new URL(opts.registryUrl).host;
  return {
    repository: opts.repository,
    tag: opts.tag,
    digest: image.digest,
    layers: image.layers,
    reference: `${host}/${opts.repository}:${opts.tag}@${image.digest}`,
  };
}

/**
 * A multi-platform image as `docker buildx build --platform … --provenance=mode=…` pushes it:
 * the runnable manifests first, then one attestation manifest per platform.
 */
export async function pushBuildkitImage(
  opts: Push & { platforms: string[]; on?: BuildkitImage; provenance?: ProvenanceSpec },
): Promise<BuildkitImage> {
  const host = new URL(opts.registryUrl).host;
  const platforms: BuildkitImage['platforms'] = {};
  const attestations: BuildkitImage['attestations'] = {};
  const descriptors: object[] = [];
  const attestationDescriptors: object[] = [];
  const { on: base, ...push } = opts;
  for (const platform of opts.platforms) {
    const on = base?.platforms[platform]?.layers;
    const image = await pushPlatformManifest({ ...push, platform, ...(on ? { on } : {}) });
    await putManifest(opts.registryUrl, opts.repository, image.digest, image.body, ociManifest);
    platforms[platform] = { digest: image.digest, layers: image.layers };
    const [os, architecture, variant] = platform.split('/');
    descriptors.push({
      mediaType: ociManifest,
      digest: image.digest,
      size: image.body.length,
      platform: { architecture, os, ...(variant ? { variant } : {}) },
    });

    const statements: { predicateType: string; body: Buffer }[] = [
      { predicateType: 'https://spdx.dev/Document', body: sbomStatement(image.digest) },
    ];
    if (opts.provenance) {
      const subject = `pkg:docker/${host}/${opts.repository}@${opts.tag}?platform=${encodeURIComponent(platform)}`;
      const statement =
        opts.provenance.rawStatement ??
        provenanceStatement(opts.provenance, {
          subject,
          digest: image.digest,
          platform,
          layers: image.layers,
        });
      statements.push({
        predicateType: `https://slsa.dev/provenance/${opts.provenance.version}`,
        body: statement,
      });
    }
    const attestation = await pushAttestation(opts, statements);
    attestations[platform] = attestation.digest;
    attestationDescriptors.push({
      mediaType: ociManifest,
      digest: attestation.digest,
      size: attestation.size,
      annotations: {
        'vnd.docker.reference.digest': image.digest,
        'vnd.docker.reference.type': 'attestation-manifest',
      },
      platform: { architecture: 'unknown', os: 'unknown' },
    });
  }
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociIndex,
      manifests: [...descriptors, ...attestationDescriptors],
    }),
  );
  const digest = sha256(index);
  await putManifest(opts.registryUrl, opts.repository, opts.tag, index, ociIndex);
  return {
    repository: opts.repository,
    tag: opts.tag,
    digest,
    reference: `${host}/${opts.repository}:${opts.tag}@${digest}`,
    platforms,
    attestations,
  };
}

/** BuildKit's attestation manifest: an "unknown/unknown" image config and one in-toto layer per statement. */
async function pushAttestation(opts: Push, statements: { predicateType: string; body: Buffer }[]) {
  for (const s of statements) await pushBlob(opts.registryUrl, opts.repository, s.body, {});
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'unknown',
      os: 'unknown',
      config: {},
      rootfs: { type: 'layers', diff_ids: statements.map((s) => sha256(s.body)) },
    }),
  );
  await pushBlob(opts.registryUrl, opts.repository, config, {});
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifest,
      config: { mediaType: ociConfig, digest: sha256(config), size: config.length },
      layers: statements.map((s) => ({
        mediaType: inToto,
        digest: sha256(s.body),
        size: s.body.length,
        annotations: { 'in-toto.io/predicate-type': s.predicateType },
      })),
    }),
  );
  const digest = sha256(body);
  await putManifest(opts.registryUrl, opts.repository, digest, body, ociManifest);
  return { digest, size: body.length };
}

function sbomStatement(subject: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://spdx.dev/Document',
      subject: [{ name: '_', digest: { sha256: subject.replace(/^sha256:/, '') } }],
      predicate: { SPDXID: 'SPDXRef-DOCUMENT', spdxVersion: 'SPDX-2.3', packages: [] },
    }),
  );
}

/**
 * SLSA provenance in the shape BuildKit writes (docs/attestations/slsa-definitions.md). In
 * mode=max the LLB pulls every input, copies into the final stage's base and records each
 * source's layers; mode=min has the materials only.
 */
export function provenanceStatement(
  spec: ProvenanceSpec,
  image: { subject: string; digest: string; platform: string; layers: Layer[] },
): Buffer {
  const hex = (d: string) => d.replace(/^sha256:/, '');
  const materials = spec.inputs.map((i) => ({ uri: i.purl, digest: { sha256: hex(i.digest) } }));
  const steps: object[] = spec.inputs.map((input, n) => ({
    id: `step${n}`,
    op: {
      Op: { source: { identifier: `docker-image://${input.ref}@${input.digest}` } },
      constraints: {},
      platform: { Architecture: image.platform.split('/')[1], OS: image.platform.split('/')[0] },
    },
  }));
  const layers: Record<string, { mediaType: string; digest: string; size: number }[][]> = {};
  spec.inputs.forEach((input, n) => {
    const recorded = input.layers?.[image.platform];
    if (recorded)
      layers[`step${n}:0`] = [
        recorded.map((l) => ({ mediaType: layerType, digest: l.digest, size: l.size })),
      ];
  });
  const context = spec.inputs.length;
  steps.push({
    id: `step${context}`,
    op: { Op: { source: { identifier: 'local://context' } }, constraints: {} },
  });
  const final = spec.finalStage ? spec.inputs.indexOf(spec.finalStage) : -1;
  const copy = context + 1;
  steps.push({
    id: `step${copy}`,
    inputs: [...(final >= 0 ? [`step${final}:0`] : []), `step${context}:0`],
    op: {
      Op: {
        file: {
          actions: [
            { Action: { copy: { src: '/app', dest: '/app' } }, input: 0, secondaryInput: 1, output: 0 },
          ],
        },
      },
    },
  });
  steps.push({ id: `step${copy + 1}`, inputs: [`step${copy}:0`], op: { Op: null } });
  layers[`step${copy}:0`] = [
    image.layers.map((l) => ({ mediaType: layerType, digest: l.digest, size: l.size })),
  ];
  const request = {
    frontend: 'gateway.v0',
    args: { source: 'docker/dockerfile:1', 'build-arg:BUILDKIT_CONTEXT_KEEP_GIT_DIR': '1' },
    locals: [{ name: 'context' }, { name: 'dockerfile' }],
  };
  const max = spec.mode === 'max';
  const subject = [{ name: image.subject, digest: { sha256: hex(image.digest) } }];
  const started = new Date().toISOString();

  if (spec.version === 'v0.2') {
    return Buffer.from(
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v0.1',
        predicateType: 'https://slsa.dev/provenance/v0.2',
        subject,
        predicate: {
          builder: { id: '' },
          buildType: 'https://mobyproject.org/buildkit@v1',
          materials,
          invocation: {
            configSource: { entryPoint: 'Dockerfile' },
            parameters: request,
            environment: { platform: image.platform },
          },
          ...(max ? { buildConfig: { llbDefinition: steps } } : {}),
          metadata: {
            buildInvocationID: 'freshet-test',
            buildStartedOn: started,
            buildFinishedOn: started,
            completeness: { parameters: max, environment: true, materials: false },
            reproducible: false,
            'https://mobyproject.org/buildkit@v1#metadata': max ? { layers } : {},
          },
        },
      }),
    );
  }
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      predicateType: 'https://slsa.dev/provenance/v1',
      subject,
      predicate: {
        buildDefinition: {
          buildType: 'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md',
          externalParameters: { configSource: { path: 'Dockerfile' }, request },
          internalParameters: {
            builderPlatform: 'linux/amd64',
            ...(max ? { buildConfig: { llbDefinition: steps } } : {}),
          },
          resolvedDependencies: materials,
        },
        runDetails: {
          builder: { id: '' },
          metadata: {
            invocationId: 'freshet-test',
            startedOn: started,
            finishedOn: started,
            buildkit_reproducible: false,
            buildkit_completeness: { request: max, resolvedDependencies: false },
            buildkit_metadata: max ? { layers } : {},
          },
        },
      },
    }),
  );
}

/** Cross-repository mount: the blob is already in the registry under the base's repository. */
async function mountBlob(registryUrl: string, repository: string, layer: Layer): Promise<void> {
  if (layer.repository === repository) return;
  const url = `${registryUrl}/v2/${repository}/blobs/uploads/?mount=${layer.digest}&from=${layer.repository}`;
  const res = await fetch(url, { method: 'POST' });
  await res.body?.cancel();
  if (res.status !== 201)
    throw new Error(`mounting ${layer.digest} from ${layer.repository}: HTTP ${res.status}`);
}

async function putManifest(
  registryUrl: string,
  repository: string,
  reference: string,
  body: Buffer,
  type: string,
) {
  const url = `${registryUrl}/v2/${repository}/manifests/${reference}`;
  const res = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': type, accept: manifestAccept },
    body,
  });
  if (res.status !== 201) throw new Error(`PUT ${url}: HTTP ${res.status} ${await res.text()}`);
  const echoed = res.headers.get('docker-content-digest');
  if (echoed !== sha256(body)) throw new Error(`registry stored ${echoed}, expected ${sha256(body)}`);
}
