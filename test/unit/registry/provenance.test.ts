import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../../activities/registry/errors.ts';
import { imageIndexSchema, imageManifestSchema } from '../../../activities/registry/manifest-schemas.ts';
import {
  attestationFor,
  chooseBase,
  maxProvenanceBytes,
  type ProvenanceSource,
  parseProvenance,
  provenanceLayer,
  readProvenanceBase,
} from '../../../activities/registry/provenance.ts';
import { type BuildInput, type Layer, provenanceStatement } from '../../support/buildkit-pusher.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const layer = (c: string): Layer => ({ digest: d(c), size: 10, diffId: d(c), repository: 'x' });
const amd64 = { os: 'linux', architecture: 'amd64' };

const base: BuildInput = {
  purl: 'pkg:docker/127.0.0.1%3A5000/acme/base@3.20?platform=linux%2Famd64',
  digest: d('b'),
  ref: '127.0.0.1:5000/acme/base:3.20',
  layers: { 'linux/amd64': [layer('1'), layer('2')] },
};
const builder: BuildInput = {
  purl: 'pkg:docker/golang@1.23?platform=linux%2Famd64',
  digest: d('d'),
  ref: 'docker.io/library/golang:1.23',
  layers: { 'linux/amd64': [layer('7'), layer('8')] },
};
const frontend: BuildInput = {
  purl: 'pkg:docker/docker/dockerfile@1',
  digest: d('f'),
  ref: 'docker.io/docker/dockerfile:1',
};
const image = {
  subject: 'pkg:docker/acme/app@1',
  digest: d('a'),
  platform: 'linux/amd64',
  layers: [layer('1'), layer('2'), layer('3')],
};
const imageLayers = image.layers.map((l) => l.digest);

const statement = (version: 'v0.2' | 'v1', mode: 'min' | 'max', inputs: BuildInput[]) =>
  provenanceStatement({ version, mode, inputs, finalStage: base }, image);

function parsed(body: Uint8Array) {
  const build = parseProvenance(body);
  if (!build.ok) throw new Error(build.problem);
  return build.value;
}

describe('provenance: SLSA v0.2 and v1 as BuildKit writes them', () => {
  it('reads materials (v0.2) and resolvedDependencies (v1), subject and frontend', () => {
    for (const version of ['v0.2', 'v1'] as const) {
      const build = parsed(statement(version, 'min', [frontend, builder, base]));
      expect(build.predicateType).toBe(`https://slsa.dev/provenance/${version}`);
      expect(build.subjects).toEqual([d('a')]);
      expect(build.materials.map((m) => m.digest)).toEqual([d('f'), d('d'), d('b')]);
      expect(build.frontendSource).toBe('docker/dockerfile:1');
      expect(build.imageSteps.size).toBe(0);
    }
  });

  it('mode=max: picks the final stage by the layers it recorded, wherever the materials list it', () => {
    for (const version of ['v0.2', 'v1'] as const) {
      // The base is listed before the builder stage: "last image" alone would pick golang.
      const build = parsed(statement(version, 'max', [frontend, base, builder]));
      expect(build.imageSteps.get('step1')).toBe(`127.0.0.1:5000/acme/base:3.20@${d('b')}`);
      expect(chooseBase(build, { layers: imageLayers, platform: amd64 })).toEqual({
        ok: true,
        value: { name: '127.0.0.1:5000/acme/base:3.20', digest: d('b'), rule: 'final-stage' },
      });
    }
  });

  it('mode=min: the last image material, never the Dockerfile frontend', () => {
    const build = parsed(statement('v1', 'min', [frontend, builder, base]));
    expect(chooseBase(build, { layers: imageLayers, platform: amd64 })).toEqual({
      ok: true,
      value: { name: '127.0.0.1:5000/acme/base:3.20', digest: d('b'), rule: 'last-image' },
    });
    const onlyFrontend = parsed(statement('v1', 'min', [frontend]));
    expect(chooseBase(onlyFrontend, { layers: imageLayers, platform: amd64 })).toEqual({
      ok: false,
      problem: 'provenance lists no base image among its 1 material',
    });
  });

  it('prefers images pulled for the platform watched over builder stages of the build platform', () => {
    const arm = { ...base, purl: 'pkg:docker/127.0.0.1%3A5000/acme/base@3.20?platform=linux%2Farm64' };
    const build = parsed(statement('v1', 'min', [arm, builder]));
    expect(chooseBase(build, { layers: [], platform: { os: 'linux', architecture: 'arm64' } })).toMatchObject(
      {
        ok: true,
        value: { name: '127.0.0.1:5000/acme/base:3.20', rule: 'last-image' },
      },
    );
  });

  it('a FROM pinned by digest names the base by digest', () => {
    const pinned = {
      ...base,
      purl: `pkg:docker/127.0.0.1%3A5000/acme/base?digest=${d('b')}&platform=linux%2Famd64`,
    };
    const build = parsed(statement('v0.2', 'min', [pinned]));
    expect(chooseBase(build, { layers: imageLayers, platform: amd64 })).toMatchObject({
      ok: true,
      value: { name: `127.0.0.1:5000/acme/base@${d('b')}`, digest: d('b') },
    });
  });

  it('garbage is a reason, not an exception', () => {
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const cases: [Uint8Array, string][] = [
      [new TextEncoder().encode('<html>'), 'not JSON (6 bytes)'],
      [json([1, 2]), 'not an in-toto statement'],
      [
        json({ _type: 'x', subject: [], predicateType: 'https://spdx.dev/Document', predicate: {} }),
        'is not SLSA provenance',
      ],
      [
        json({
          subject: [],
          predicateType: 'https://slsa.dev/provenance/v1',
          predicate: { buildDefinition: 'no' },
        }),
        'not SLSA provenance v1',
      ],
      [
        json({
          subject: [],
          predicateType: 'https://slsa.dev/provenance/v0.2',
          predicate: { materials: 'all' },
        }),
        'not SLSA provenance v0.2',
      ],
      [new Uint8Array([0xff, 0xfe, 0x7b]), 'not JSON'],
    ];
    for (const [body, problem] of cases) {
      const result = parseProvenance(body);
      expect(result.ok).toBe(false);
      expect(result.ok ? '' : result.problem).toContain(problem);
    }
    // Fields of the wrong type inside a valid statement are skipped, not fatal.
    const odd = parseProvenance(
      json({
        subject: [{ digest: { sha256: 'short' } }],
        predicateType: 'https://slsa.dev/provenance/v1',
        predicate: {
          buildDefinition: {
            resolvedDependencies: [42, { uri: base.purl, digest: { sha256: d('b').slice(7) } }],
          },
          runDetails: { metadata: { buildkit_metadata: { layers: 'many' } } },
        },
      }),
    );
    expect(odd.ok && odd.value.materials).toEqual([{ uri: base.purl, digest: d('b') }]);
    expect(odd.ok && odd.value.subjects).toEqual([]);
  });
});

describe('provenance: attestation manifests in the index', () => {
  const index = imageIndexSchema.parse({
    schemaVersion: 2,
    manifests: [
      { digest: d('a'), platform: amd64 },
      { digest: d('c'), platform: { os: 'linux', architecture: 'arm64' } },
      {
        digest: d('e'),
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: {
          'vnd.docker.reference.type': 'attestation-manifest',
          'vnd.docker.reference.digest': d('c'),
        },
      },
      {
        digest: d('9'),
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: {
          'vnd.docker.reference.type': 'attestation-manifest',
          'vnd.docker.reference.digest': d('a'),
        },
      },
    ],
  });
  const attestation = (layers: object[]) =>
    imageManifestSchema.parse({ schemaVersion: 2, config: { digest: d('0') }, layers });
  const sbomLayer = {
    mediaType: 'application/vnd.in-toto+json',
    digest: d('5'),
    size: 100,
    annotations: { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' },
  };
  const provenanceDescriptor = (size: number) => ({
    mediaType: 'application/vnd.in-toto+json',
    digest: d('6'),
    size,
    annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v1' },
  });

  it('finds the attestation of the platform watched only', () => {
    expect(attestationFor(index, d('a'))?.digest).toBe(d('9'));
    expect(attestationFor(index, d('c'))?.digest).toBe(d('e'));
    expect(attestationFor(index, d('e'))).toBeUndefined();
  });

  it('takes the provenance layer and leaves the SBOM', () => {
    expect(provenanceLayer(attestation([sbomLayer, provenanceDescriptor(10)]))).toMatchObject({
      ok: true,
      value: { digest: d('6') },
    });
    expect(provenanceLayer(attestation([sbomLayer]))).toEqual({
      ok: false,
      problem: 'the attestation holds no SLSA provenance (https://spdx.dev/Document)',
    });
  });

  /** The documents of one image, as a registry would serve them, with what was asked for. */
  function source(blob: Uint8Array, layers: object[] = [sbomLayer, provenanceDescriptor(blob.length)]) {
    const asked: string[] = [];
    const from: ProvenanceSource = {
      manifest: async (digest) => {
        asked.push(`manifest ${digest}`);
        return attestation(layers);
      },
      blob: async (digest, maxBytes) => {
        asked.push(`blob ${digest} ≤ ${maxBytes}`);
        return blob;
      },
    };
    return { asked, from };
  }
  const watched = { index, platformDigest: d('a'), layers: imageLayers, platform: amd64 };

  it('reads one attestation manifest and one bounded blob, for the watched platform', async () => {
    const { asked, from } = source(statement('v1', 'max', [frontend, base, builder]));
    expect(await readProvenanceBase(from, watched)).toEqual({
      found: true,
      base: { name: '127.0.0.1:5000/acme/base:3.20', digest: d('b'), rule: 'final-stage' },
    });
    expect(asked).toEqual([`manifest ${d('9')}`, `blob ${d('6')} ≤ ${maxProvenanceBytes}`]);
  });

  it('says nothing for an image without attestations, and why for a bad one', async () => {
    const plain = imageIndexSchema.parse({
      schemaVersion: 2,
      manifests: [{ digest: d('a'), platform: amd64 }],
    });
    expect(await readProvenanceBase(source(new Uint8Array()).from, { ...watched, index: plain })).toEqual({
      found: false,
    });
    const big = source(new Uint8Array(), [provenanceDescriptor(maxProvenanceBytes + 1)]);
    expect(await readProvenanceBase(big.from, watched)).toEqual({
      found: false,
      problem: `provenance: ${maxProvenanceBytes + 1} bytes, above the 4 MiB read`,
    });
    expect(big.asked).toHaveLength(1);
    const otherSubject = provenanceStatement(
      { version: 'v0.2', mode: 'min', inputs: [base] },
      { ...image, digest: d('c') },
    );
    expect(await readProvenanceBase(source(otherSubject).from, watched)).toEqual({
      found: false,
      problem: `provenance: its subject is ${d('c')}, not the platform manifest ${d('a')}`,
    });
    const garbage = await readProvenanceBase(
      source(new TextEncoder().encode('{"predicate": 1}')).from,
      watched,
    );
    expect(garbage).toMatchObject({
      found: false,
      problem: expect.stringContaining('provenance: not an in-toto statement'),
    });
    const failing: ProvenanceSource = {
      manifest: async () => {
        throw new Error('registry local: GET acme/app@sha256:99… → 404 not found');
      },
      blob: async () => new Uint8Array(),
    };
    expect(await readProvenanceBase(failing, watched)).toEqual({
      found: false,
      problem: 'provenance: registry local: GET acme/app@sha256:99… → 404 not found',
    });
  });

  it('leaves a failure that retrying can fix to the next check', async () => {
    const unavailable = new RegistryError({
      registry: 'local',
      method: 'GET',
      target: 'acme/app@sha256:99…',
      status: 503,
      retryable: true,
      problem: '503 service unavailable',
    });
    const flaky: ProvenanceSource = {
      manifest: async () => {
        throw unavailable;
      },
      blob: async () => new Uint8Array(),
    };
    await expect(readProvenanceBase(flaky, watched)).rejects.toBe(unavailable);
  });
});
