// What really runs: freshness reads the pods' imageID. A Deployment that names only a tag shows
// the digest its pods run (the stack's simulated kubelet resolves the tag, as a real one does at
// pull time) before Freshet ever touches it, and goes behind after a rebuild of the tag; a
// Deployment whose spec already names the newest digest while its pods still run the old one
// is behind until the pods are replaced.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshnessCommand } from '../../worker/cli/freshness.ts';
import type { Daemon } from '../../worker/daemon.ts';
import type { TargetFreshness } from '../../worker/freshness.ts';
import { watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { type PushedImage, pushImage } from '../support/image-pusher.ts';
import {
  createNamespace,
  deleteNamespace,
  deploymentManifest,
  kubeClients,
  rolloutComplete,
} from '../support/kube.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const kube = kubeClients(stack.kubernetes.kubeconfig);
const suffix = uniqueSuffix();
const namespace = `run-${suffix}`;
const registry = `local-${suffix}`;
const repository = `acme-${suffix}/web`;
const image = `web-${suffix}`;
const pipeline = `web-${suffix}`;
let daemon: Daemon;
let v1: PushedImage;
let v2: PushedImage;

const config = stackConfig(
  stack,
  `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${registry}, url: "\${REGISTRY_URL}" } ]
clusters: { local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet } }
images:
  - { name: ${image}, registry: ${registry}, repository: ${repository}, track: { tag: "1.4" }, pipeline: ${pipeline}, interval: 1s }
pipelines:
  ${pipeline}:
    stages:
      # The gate holds every rollout: what the targets run changes only by this test's hand.
      - name: staging
        cluster: local
        approval: { timeout: 1h }
        targets: [ { namespace: ${namespace}, deployment: web }, { namespace: ${namespace}, deployment: api } ]
`,
);
const labels = (deployment: string) => ({
  pipeline,
  stage: 'staging',
  namespace,
  deployment,
  container: deployment,
  image,
});
const metric = async (name: string, deployment: string) =>
  sampleValue(await scrape(daemon.url), name, labels(deployment));
const freshness = async (deployment: string) => {
  const all = JSON.parse(await freshnessCommand(daemon.client, config, true)) as TargetFreshness[];
  return all.find((t) => t.deployment === deployment);
};

/** Every pod of the Deployment reports this imageID (set by the stack's kubelet-images process). */
async function podsReport(deployment: string, imageID: string) {
  await waitFor(
    `the pods of ${deployment} to report imageID ${imageID} (the stack's kubelet-images process sets it)`,
    async () => {
      const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: `app=${deployment}` });
      const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
      return (
        live.length > 0 && live.every((p) => p.status?.containerStatuses?.every((c) => c.imageID === imageID))
      );
    },
    { timeoutMs: 60_000 },
  );
}

describe('what really runs', () => {
  beforeAll(async () => {
    await connectTemporal(stack);
    await createNamespace(kube, namespace);
  });
  afterAll(async () => {
    await daemon?.client.workflow
      .getHandle(watchWorkflowId(config.temporal.instance, registry))
      .terminate('test over')
      .catch(() => undefined);
    for await (const wf of daemon?.client.workflow.list({
      query: `ExecutionStatus = 'Running' AND TaskQueue = '${config.temporal.taskQueue}'`,
    }) ?? []) {
      await daemon.client.workflow
        .getHandle(wf.workflowId)
        .terminate('test over')
        .catch(() => undefined);
    }
    await daemon?.close();
    await deleteNamespace(kube, namespace);
  });

  it('a tag-only Deployment reports its true running digest before any rollout, and goes behind after a rebuild', async () => {
    v1 = await pushImage({
      registryUrl: stack.registry.url,
      repository,
      tag: '1.4',
      created: new Date('2026-11-01T00:00:00Z'),
    });
    const tagOnly = `${stack.registry.host}/${repository}:1.4`;
    for (const name of ['web', 'api']) {
      await kube.apps.createNamespacedDeployment({
        namespace,
        body: deploymentManifest({ name, image: tagOnly, replicas: 2 }),
      });
    }
    await podsReport('web', `${stack.registry.host}/${repository}@${v1.digest}`);
    daemon = await startTestDaemon(config);

    await waitFor(
      'web up to date on the digest its pods run',
      async () => (await metric('freshet_image_up_to_date', 'web')) === 1,
    );
    expect(await freshness('web')).toMatchObject({
      runningDigest: v1.digest,
      runningFrom: 'pods',
      upToDate: true,
    });
    expect(await metric('freshet_image_running_created_timestamp_seconds', 'web')).toBe(
      Date.parse(v1.created) / 1000,
    );

    v2 = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1.4' });
    const watch = daemon.client.workflow.getHandle(watchWorkflowId(config.temporal.instance, registry));
    const seen = await waitFor('the watch to see the rebuild', async () => {
      const latest = (await watch.query(watchStatusQuery)).images[0]?.state.latest;
      return latest?.digest === v2.digest ? latest : undefined;
    });
    await waitFor(
      'web behind after the rebuild',
      async () => (await metric('freshet_image_up_to_date', 'web')) === 0,
    );
    expect(await metric('freshet_image_behind_since_timestamp_seconds', 'web')).toBe(
      Date.parse(seen.firstSeenAt) / 1000,
    );
    expect(await freshness('web')).toMatchObject({
      runningDigest: v1.digest,
      latestDigest: v2.digest,
      upToDate: false,
    });
  });

  it('pods still on the old digest keep a Deployment behind though its spec names the newest', async () => {
    // Paused, the deployment controller leaves the pods as they are: the spec moves, they do not.
    await kube.apps.patchNamespacedDeployment({
      name: 'api',
      namespace,
      body: [
        { op: 'add', path: '/spec/paused', value: true },
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: v2.reference },
      ],
    });
    await waitFor('api behind: its pods run the old build', async () => {
      const t = await freshness('api');
      return t?.runningDigest === v1.digest && t.upToDate === false ? t : undefined;
    });
    expect(await metric('freshet_image_up_to_date', 'api')).toBe(0);
    expect(await metric('freshet_image_behind_since_timestamp_seconds', 'api')).toBeGreaterThan(0);

    await kube.apps.patchNamespacedDeployment({
      name: 'api',
      namespace,
      body: [{ op: 'replace', path: '/spec/paused', value: false }],
    });
    await waitFor(
      'api rolled out',
      async () => rolloutComplete(await kube.apps.readNamespacedDeployment({ name: 'api', namespace })),
      { timeoutMs: 60_000 },
    );
    await waitFor(
      'api up to date once its pods run the newest build',
      async () => (await metric('freshet_image_up_to_date', 'api')) === 1,
    );
    expect(await freshness('api')).toMatchObject({
      runningDigest: v2.digest,
      runningFrom: 'pods',
      upToDate: true,
    });
  });
});
