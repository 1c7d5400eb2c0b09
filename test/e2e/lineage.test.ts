// Base-image lineage for images that carry no OCI base annotations: a multi-platform image laid
// out the way BuildKit pushes it (SLSA provenance in an attestation manifest per platform), and an
// image whose config declares its base, proven by layer prefix. Each goes not behind → behind
// (its base is rebuilt) → not behind (it is rebuilt on the new base), on the real registry.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RegistryClient } from '../../activities/registry/client.ts';
import type { RegistryRequestEvent } from '../../activities/registry/transport.ts';
import { freshnessCommand } from '../../worker/cli/freshness.ts';
import type { Daemon } from '../../worker/daemon.ts';
import { watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import {
  type BuildInput,
  type BuildkitImage,
  type LayeredImage,
  pushBuildkitImage,
  pushLayeredImage,
} from '../support/buildkit-pusher.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { sha256 } from '../support/image-pusher.ts';
import { createNamespace, deleteNamespace, deploymentManifest, kubeClients } from '../support/kube.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const kube = kubeClients(stack.kubernetes.kubeconfig);
const suffix = uniqueSuffix();
const namespace = `lineage-${suffix}`;
const registry = `local-${suffix}`;
const baseRepository = `base-${suffix}/alpine`;
const toolsRepository = `tools-${suffix}/golang`;
const provRepository = `acme-${suffix}/prov`;
const layersRepository = `acme-${suffix}/layers`;
const [baseImage, provImage, layersImage] = [`base-${suffix}`, `prov-${suffix}`, `layers-${suffix}`];
const host = stack.registry.host;
const platforms = ['linux/amd64', 'linux/arm64'];
let daemon: Daemon;

const config = stackConfig(
  stack,
  `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${registry}, url: "\${REGISTRY_URL}" } ]
clusters: { local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet } }
images:
  - { name: ${baseImage}, registry: ${registry}, repository: ${baseRepository}, track: { tag: "3.20" }, interval: 1s }
  - { name: ${provImage}, registry: ${registry}, repository: ${provRepository}, track: { tag: "1" }, platform: linux/arm64, pipeline: prov-${suffix}, interval: 1s }
  - { name: ${layersImage}, registry: ${registry}, repository: ${layersRepository}, track: { tag: "1" }, base: { image: ${baseImage} }, pipeline: layers-${suffix}, interval: 1s }
pipelines:
  # The gates hold every rollout, so the Deployments stay as they are while lineage is read.
  prov-${suffix}:
    stages: [ { name: staging, cluster: local, approval: { timeout: 1h }, targets: [ { namespace: ${namespace}, deployment: prov } ] } ]
  layers-${suffix}:
    stages: [ { name: staging, cluster: local, approval: { timeout: 1h }, targets: [ { namespace: ${namespace}, deployment: layers } ] } ]
`,
);

/** The base as BuildKit's provenance names it: a purl per platform it was pulled for. */
function baseInput(base: BuildkitImage): BuildInput {
  return {
    purl: `pkg:docker/${encodeURIComponent(host)}/${baseRepository}@3.20?platform=linux%2Farm64`,
    digest: base.digest,
    ref: `${host}/${baseRepository}:3.20`,
    layers: Object.fromEntries(platforms.map((p) => [p, base.platforms[p]?.layers ?? []])),
  };
}

/** `FROM --platform=$BUILDPLATFORM golang AS build` … `FROM base` … `COPY --from=build`. */
function pushProv(base: BuildkitImage, tools: BuildkitImage): Promise<BuildkitImage> {
  const frontend: BuildInput = {
    purl: 'pkg:docker/docker/dockerfile@1',
    digest: sha256('docker/dockerfile:1'),
    ref: 'docker.io/docker/dockerfile:1',
  };
  const builderLayers = tools.platforms['linux/amd64']?.layers ?? [];
  const builder: BuildInput = {
    purl: `pkg:docker/${encodeURIComponent(host)}/${toolsRepository}@1.23?platform=linux%2Famd64`,
    digest: tools.digest,
    ref: `${host}/${toolsRepository}:1.23`,
    layers: { 'linux/amd64': builderLayers, 'linux/arm64': builderLayers },
  };
  const from = baseInput(base);
  return pushBuildkitImage({
    registryUrl: stack.registry.url,
    repository: provRepository,
    tag: '1',
    platforms,
    on: base,
    // Listed base first, builder last: only the final-stage rule names the right one.
    provenance: { version: 'v1', mode: 'max', inputs: [frontend, from, builder], finalStage: from },
  });
}

const pushBase = () =>
  pushBuildkitImage({ registryUrl: stack.registry.url, repository: baseRepository, tag: '3.20', platforms });
const pushLayers = (base: BuildkitImage): Promise<LayeredImage> =>
  pushLayeredImage({
    registryUrl: stack.registry.url,
    repository: layersRepository,
    tag: '1',
    on: { layers: base.platforms['linux/amd64']?.layers ?? [] },
  });

describe('base-image lineage from BuildKit provenance and from layer prefix', () => {
  beforeAll(async () => {
    await connectTemporal(stack);
    await createNamespace(kube, namespace);
  });
  afterAll(async () => {
    await daemon?.client.workflow
      .getHandle(watchWorkflowId(config.temporal.instance, registry))
      .terminate('test over')
      .catch(() => undefined);
    await daemon?.close();
    await deleteNamespace(kube, namespace);
  });

  it('freshet_base_image_behind goes 0 → 1 → 0 for both, and says which method found the base', async () => {
    const tools = await pushBuildkitImage({
      registryUrl: stack.registry.url,
      repository: toolsRepository,
      tag: '1.23',
      platforms: ['linux/amd64'],
    });
    const base1 = await pushBase();
    const prov1 = await pushProv(base1, tools);
    const layers1 = await pushLayers(base1);
    for (const [name, image] of [
      ['prov', prov1.reference],
      ['layers', layers1.reference],
    ] as const) {
      await kube.apps.createNamespacedDeployment({
        namespace,
        body: deploymentManifest({ name, image, replicas: 1 }),
      });
    }
    daemon = await startTestDaemon(config);
    const metric = async (name: string, labels: Record<string, string>) =>
      sampleValue(await scrape(daemon.url), name, labels);
    const behind = (image: string) => metric('freshet_base_image_behind', { image });
    const both = async (value: number) =>
      (await behind(provImage)) === value && (await behind(layersImage)) === value;

    await waitFor('lineage known, not behind', () => both(0), { timeoutMs: 30_000 });
    const baseName = `${host}/${baseRepository}:3.20`;
    expect(
      await metric('freshet_image_info', { image: provImage, base_name: baseName, base_from: 'provenance' }),
    ).toBe(1);
    expect(
      await metric('freshet_image_info', { image: layersImage, base_name: baseName, base_from: 'layers' }),
    ).toBe(1);
    const status = await daemon.client.workflow
      .getHandle(watchWorkflowId(config.temporal.instance, registry))
      .query(watchStatusQuery);
    const stateOf = (name: string) => status.images.find((i) => i.image.name === name)?.state;
    expect(stateOf(provImage)).toMatchObject({ baseFrom: 'provenance', baseDigest: base1.digest });
    expect(stateOf(layersImage)).toMatchObject({ baseFrom: 'layers', baseDigest: base1.digest });
    expect(stateOf(provImage)?.baseProblem).toBeUndefined();

    const base2 = await pushBase();
    await waitFor('behind after the base is rebuilt', () => both(1), { timeoutMs: 30_000 });
    expect(
      await metric('freshet_base_image_behind_since_timestamp_seconds', { image: layersImage }),
    ).toBeGreaterThan(0);

    await pushProv(base2, tools);
    await pushLayers(base2);
    await waitFor('not behind once rebuilt on the new base', () => both(0), { timeoutMs: 30_000 });
    expect(
      await metric('freshet_base_image_behind_since_timestamp_seconds', { image: provImage }),
    ).toBeUndefined();

    const rows = JSON.parse(await freshnessCommand(daemon.client, config, true)) as {
      deployment: string;
      baseFrom?: string;
      baseName?: string;
    }[];
    expect(rows.map((r) => [r.deployment, r.baseFrom, r.baseName]).sort()).toEqual([
      ['layers', 'layers', baseName],
      ['prov', 'provenance', baseName],
    ]);
    const table = (await freshnessCommand(daemon.client, config, false)).split('\n');
    expect(table[0]).toMatch(/BASE IMAGE +BASE FROM$/);
    expect(table.find((line) => line.startsWith(`prov-${suffix} `))).toMatch(/ ok +provenance$/);
    expect(table.find((line) => line.startsWith(`layers-${suffix} `))).toMatch(/ ok +layers$/);
  });
});

describe('BuildKit provenance read by the registry client', () => {
  const arm64 = { os: 'linux', architecture: 'arm64' };
  function client() {
    const events: RegistryRequestEvent[] = [];
    const c = new RegistryClient({
      name: 'local',
      url: stack.registry.url,
      onRequest: (e) => events.push(e),
    });
    return { client: c, gets: () => events.filter((e) => e.method === 'GET').map((e) => e.endpoint) };
  }

  it("reads only the watched platform's attestation: two GETs more than the metadata", async () => {
    const base = await pushBuildkitImage({
      registryUrl: stack.registry.url,
      repository: `${baseRepository}-read`,
      tag: '3.20',
      platforms,
    });
    const from = { ...baseInput(base), ref: `${host}/${baseRepository}-read:3.20` };
    from.purl = from.purl.replace(baseRepository, `${baseRepository}-read`);
    const image = await pushBuildkitImage({
      registryUrl: stack.registry.url,
      repository: `${provRepository}-read`,
      tag: '1',
      platforms,
      on: base,
      provenance: { version: 'v0.2', mode: 'min', inputs: [from] },
    });
    const { client: c, gets } = client();
    const meta = await c.imageMetadata(image.repository, image.digest, arm64);
    expect(meta).toMatchObject({
      platformDigest: image.platforms['linux/arm64']?.digest,
      baseName: `${host}/${baseRepository}-read:3.20`,
      baseDigest: base.digest,
      baseFrom: 'provenance',
      layers: image.platforms['linux/arm64']?.layers.map((l) => l.digest),
    });
    // Index, arm64 manifest, its config; then the arm64 attestation manifest and its provenance blob.
    expect(gets()).toEqual(['manifest', 'manifest', 'blob', 'manifest', 'blob']);
  });

  it('a provenance that is not one is a reason on the metadata, never a failed read', async () => {
    const image = await pushBuildkitImage({
      registryUrl: stack.registry.url,
      repository: `${provRepository}-garbage`,
      tag: '1',
      platforms,
      provenance: {
        version: 'v1',
        mode: 'max',
        inputs: [],
        rawStatement: Buffer.from('<html>gateway timeout</html>'),
      },
    });
    const meta = await client().client.imageMetadata(image.repository, image.digest, arm64);
    expect(meta.baseFrom).toBeUndefined();
    expect(meta.baseName).toBeUndefined();
    expect(meta.baseProblem).toBe('provenance: not JSON (28 bytes)');
  });
});
