// Freshness metrics from the real cluster and registry: a Deployment on the old digest is
// behind since the rebuild was seen, and up to date once it runs the new one; an image built
// on a base whose tag has moved on is behind on its base.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { createNamespace, deleteNamespace, deploymentManifest, kubeClients } from '../support/kube.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const kube = kubeClients(stack.kubernetes.kubeconfig);
const suffix = uniqueSuffix();
const namespace = `fresh-${suffix}`;
const registry = `local-${suffix}`;
const repository = `acme-${suffix}/web`;
const baseRepository = `base-${suffix}/debian`;
const image = `web-${suffix}`;
let daemon: Daemon;

const config = stackConfig(
  stack,
  `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${registry}, url: "\${REGISTRY_URL}" } ]
clusters: { local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet } }
images:
  - { name: ${image}, registry: ${registry}, repository: ${repository}, track: { tag: "1.4" }, pipeline: web-${suffix}, interval: 1s }
pipelines:
  web-${suffix}:
    stages:
      # The gate holds every rollout, so the targets stay behind while the metrics are read.
      - { name: staging, cluster: local, approval: { timeout: 1h }, targets: [ { namespace: ${namespace}, deployment: web } ] }
`,
);
const labels = {
  pipeline: `web-${suffix}`,
  stage: 'staging',
  namespace,
  deployment: 'web',
  container: 'web',
  image,
};

describe('freshness metrics', () => {
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

  it('tracks up-to-date, behind-since and base-image lineage', async () => {
    const base1 = await pushImage({ registryUrl: stack.registry.url, repository: baseRepository, tag: '12' });
    const v1 = await pushImage({
      registryUrl: stack.registry.url,
      repository,
      tag: '1.4',
      created: new Date('2026-11-01T00:00:00Z'),
      base: { name: `${stack.registry.host}/${baseRepository}:12`, digest: base1.digest },
    });
    await kube.apps.createNamespacedDeployment({
      namespace,
      body: deploymentManifest({ name: 'web', image: v1.reference, replicas: 2 }),
    });
    daemon = await startTestDaemon(config);
    const metric = async (name: string, l: Record<string, string> = labels) =>
      sampleValue(await scrape(daemon.url), name, l);

    await waitFor(
      'up to date on the first digest',
      async () => (await metric('freshet_image_up_to_date')) === 1,
    );
    expect(await metric('freshet_image_running_created_timestamp_seconds')).toBe(
      Date.parse(v1.created) / 1000,
    );
    expect(await metric('freshet_base_image_behind', { image })).toBe(0);
    expect(await metric('freshet_image_info', { image, digest: v1.digest, tag: '1.4' })).toBe(1);

    const beforeRebuild = Date.now() / 1000;
    const v2 = await pushImage({
      registryUrl: stack.registry.url,
      repository,
      tag: '1.4',
      base: { name: `${stack.registry.host}/${baseRepository}:12`, digest: base1.digest },
    });
    await waitFor('behind after the rebuild', async () => (await metric('freshet_image_up_to_date')) === 0, {
      timeoutMs: 20_000,
    });
    const status = await daemon.client.workflow
      .getHandle(watchWorkflowId(config.temporal.instance, registry))
      .query(watchStatusQuery);
    const firstSeen = Date.parse(status.images[0]?.state.latest?.firstSeenAt ?? '') / 1000;
    expect(status.images[0]?.state.latest?.digest).toBe(v2.digest);
    const since = await metric('freshet_image_behind_since_timestamp_seconds');
    expect(since).toBe(firstSeen);
    expect(since).toBeGreaterThanOrEqual(Math.floor(beforeRebuild) - 1);
    expect(since).toBeLessThanOrEqual(Date.now() / 1000);

    await kube.apps.patchNamespacedDeployment({
      name: 'web',
      namespace,
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: v2.reference }],
    });
    await waitFor(
      'up to date after the update',
      async () => (await metric('freshet_image_up_to_date')) === 1,
      {
        timeoutMs: 20_000,
      },
    );
    expect(await metric('freshet_image_behind_since_timestamp_seconds')).toBeUndefined();

    // The base tag moves on: the image is now behind on its base.
    await pushImage({ registryUrl: stack.registry.url, repository: baseRepository, tag: '12' });
    await waitFor(
      'base image behind',
      async () => (await metric('freshet_base_image_behind', { image })) === 1,
      {
        timeoutMs: 20_000,
      },
    );
    expect(await metric('freshet_base_image_behind_since_timestamp_seconds', { image })).toBeGreaterThan(
      beforeRebuild,
    );
    expect(await metric('freshet_watch_last_success_timestamp_seconds', { registry })).toBeGreaterThan(
      beforeRebuild,
    );
    expect(
      await metric('freshet_registry_requests_total', { registry, method: 'HEAD', code: '200' }),
    ).toBeGreaterThan(0);
  });
});
