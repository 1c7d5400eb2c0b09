// Multi-arch images: a rebuilt two-platform index (linux/amd64 + linux/arm64) is rolled out
// pinned to the INDEX digest, so a pod rescheduled to another architecture still starts. A pod
// on an arm64 node whose runtime reports the arm64 manifest (not the index) is up to date,
// proven from the index the watch fetched; `platform` picks the child whose build time is
// read; an index without the configured platform is one clear error of that image alone.
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nodeManifest } from '../../stack/configs.ts';
import { freshnessCommand } from '../../worker/cli/freshness.ts';
import type { Daemon } from '../../worker/daemon.ts';
import type { TargetFreshness } from '../../worker/freshness.ts';
import { watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { type PushedIndex, pushIndex } from '../support/image-pusher.ts';
import { createNamespace, deleteNamespace, deploymentManifest, kubeClients } from '../support/kube.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const kube = kubeClients(stack.kubernetes.kubeconfig);
const suffix = uniqueSuffix();
const namespace = `arch-${suffix}`;
const registry = `local-${suffix}`;
const repository = `multi-${suffix}/web`;
const image = `web-${suffix}`;
const s390x = `s390x-${suffix}`;
const pipeline = `web-${suffix}`;
// A node of this test's own, tainted so no other test's pods land on it. Its runtime reports
// the platform manifest of a multi-platform image, as some runtimes do (stack/image-ids.ts).
const armNode = `arm-${suffix}`;
const taint = { key: 'freshet.dev/test-node', value: suffix, effect: 'NoSchedule' };
let daemon: Daemon;

const config = stackConfig(
  stack,
  `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${registry}, url: "\${REGISTRY_URL}" } ]
clusters: { local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet } }
images:
  - { name: ${image}, registry: ${registry}, repository: ${repository}, track: { tag: "1.4" }, platform: linux/arm64, pipeline: ${pipeline}, interval: 1s }
  # Same watch, a platform the index does not offer: an error of this image only.
  - { name: ${s390x}, registry: ${registry}, repository: ${repository}, track: { tag: "1.4" }, platform: linux/s390x, interval: 1s }
pipelines:
  ${pipeline}:
    stages:
      - name: staging
        cluster: local
        targets: [ { namespace: ${namespace}, deployment: amd }, { namespace: ${namespace}, deployment: arm } ]
        waves: [ { percent: 100 } ]
        health: { rolloutTimeout: 60s }
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
const metric = async (name: string, l: Record<string, string>) =>
  sampleValue(await scrape(daemon.url), name, l);
const freshness = async (deployment: string) => {
  const all = JSON.parse(await freshnessCommand(daemon.client, config, true)) as TargetFreshness[];
  return all.find((t) => t.deployment === deployment);
};
const watch = () => daemon.client.workflow.getHandle(watchWorkflowId(config.temporal.instance, registry));
const stateOf = async (name: string) =>
  (await watch().query(watchStatusQuery)).images.find((i) => i.image.name === name)?.state;

async function podsReport(deployment: string, imageID: string) {
  await waitFor(
    `the pods of ${deployment} to report imageID ${imageID} (the stack's kubelet-images process sets it)`,
    async () => {
      const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: `app=${deployment}` });
      const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
      return live.length > 0 && live.every((p) => p.status?.containerStatuses?.[0]?.imageID === imageID);
    },
    { timeoutMs: 60_000 },
  );
}

function onArmNode(d: V1Deployment): V1Deployment {
  const spec = d.spec?.template.spec;
  if (spec) {
    spec.nodeSelector = { 'kubernetes.io/hostname': armNode };
    spec.tolerations = [{ ...taint, operator: 'Equal' }];
  }
  return d;
}

describe('multi-arch freshness', () => {
  beforeAll(async () => {
    await connectTemporal(stack);
    await createNamespace(kube, namespace);
    const node = nodeManifest(armNode);
    await kube.core.createNode({
      body: {
        ...node,
        metadata: {
          ...node.metadata,
          labels: { ...node.metadata.labels, 'kubernetes.io/arch': 'arm64' },
          annotations: { ...node.metadata.annotations, 'stack.freshet.dev/image-id': 'platform-manifest' },
        },
        spec: { taints: [taint] },
      },
    });
    await waitFor('the arm64 node to be Ready', async () => {
      const n = await kube.core.readNode({ name: armNode });
      return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    });
  });
  afterAll(async () => {
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
    await kube.core.deleteNode({ name: armNode }).catch(() => undefined);
  });

  it('an arm64 pod that reports its platform manifest is up to date; a rebuild is pinned to the index', async () => {
    const host = stack.registry.host;
    const v1: PushedIndex = await pushIndex({
      registryUrl: stack.registry.url,
      repository,
      tag: '1.4',
      created: new Date('2026-11-01T00:00:00Z'),
    });
    const [amd1, arm1] = v1.children;
    await kube.apps.createNamespacedDeployment({
      namespace,
      body: deploymentManifest({ name: 'amd', image: v1.reference, replicas: 2 }),
    });
    // Tag-only, as before Freshet first touches it; its pods run the arm64 build of the index.
    await kube.apps.createNamespacedDeployment({
      namespace,
      body: onArmNode(deploymentManifest({ name: 'arm', image: `${host}/${repository}:1.4`, replicas: 2 })),
    });
    await podsReport('arm', `${host}/${repository}@${arm1?.digest}`);
    await podsReport('amd', v1.reference);
    daemon = await startTestDaemon(config);

    await waitFor('arm up to date on the index it runs a platform of', async () => {
      const t = await freshness('arm');
      return t?.upToDate && t.runningDigest === v1.digest ? t : undefined;
    });
    // The gauges follow on the daemon's next freshness collection, which runs on its own timer.
    await waitFor('both Deployments up to date on /metrics', async () => {
      const arm = await metric('freshet_image_up_to_date', labels('arm'));
      const amd = await metric('freshet_image_up_to_date', labels('amd'));
      return arm === 1 && amd === 1;
    });
    // `platform: linux/arm64` picks the arm64 child for metadata: its build time, not amd64's.
    expect((await stateOf(image))?.latest).toMatchObject({
      digest: v1.digest,
      created: arm1?.created,
      platforms: [
        { digest: amd1?.digest, platform: 'linux/amd64' },
        { digest: arm1?.digest, platform: 'linux/arm64' },
      ],
    });
    expect(await metric('freshet_image_running_created_timestamp_seconds', labels('arm'))).toBe(
      Date.parse(arm1?.created ?? '') / 1000,
    );

    const v2 = await pushIndex({ registryUrl: stack.registry.url, repository, tag: '1.4' });
    const pinned = `${host}/${repository}:1.4@${v2.digest}`;
    await waitFor(
      'the rebuild rolled out to both Deployments',
      async () => {
        const list = await kube.apps.listNamespacedDeployment({ namespace });
        return list.items.every((d) => d.spec?.template.spec?.containers[0]?.image === pinned);
      },
      { timeoutMs: 90_000 },
    );
    for (const child of v2.children) {
      const list = await kube.apps.listNamespacedDeployment({ namespace });
      expect(list.items.map((d) => d.spec?.template.spec?.containers[0]?.image)).not.toContain(
        `${host}/${repository}:1.4@${child.digest}`,
      );
    }
    await podsReport('arm', `${host}/${repository}@${v2.children[1]?.digest}`);
    await waitFor('both up to date on the rebuilt index', async () => {
      const [amd, arm] = [await freshness('amd'), await freshness('arm')];
      return amd?.upToDate && arm?.upToDate && arm.runningDigest === v2.digest;
    });
    // As above, the gauges follow on the daemon's next freshness collection.
    await waitFor(
      'arm up to date on /metrics after the rebuild',
      async () => (await metric('freshet_image_up_to_date', labels('arm'))) === 1,
    );
    expect(await metric('freshet_image_check_failing', { image })).toBe(0);
  });

  it('an index without the configured platform is one clear error of that image; the watch keeps running', async () => {
    const failing = await waitFor('the s390x image to fail its check', async () => {
      const s = await stateOf(s390x);
      return s?.lastError ? s : undefined;
    });
    expect(failing.lastError).toContain(
      'no linux/s390x manifest in the index (offers linux/amd64, linux/arm64)',
    );
    expect(failing.latest).toBeUndefined();
    expect(await metric('freshet_image_check_failing', { image: s390x })).toBe(1);
    // The same watch goes on checking: both images are checked again, the good one without error.
    const before = (await stateOf(image))?.lastSuccessAt ?? '';
    await waitFor('the watch to check again', async () => {
      const [good, bad] = [await stateOf(image), await stateOf(s390x)];
      return (
        (good?.lastSuccessAt ?? '') > before &&
        good?.lastError === undefined &&
        (bad?.lastCheckAt ?? '') > before &&
        bad?.lastError?.includes('linux/s390x')
      );
    });
  });
});
