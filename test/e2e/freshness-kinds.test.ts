// Freshness metrics for targets of every workload kind: a StatefulSet and a DaemonSet report what
// their pods run (found through their selectors), a CronJob what its Job template pins. Each is up
// to date on the first digest, behind after a rebuild, and up to date again once it runs it.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { createNamespace, deleteNamespace, kubeClients } from '../support/kube.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';
import { cronJobManifest, daemonSetManifest, statefulSetManifest } from '../support/workload-manifests.ts';

const stack = inject('stack');
const kube = kubeClients(stack.kubernetes.kubeconfig);
const suffix = uniqueSuffix();
const namespace = `fresh-kinds-${suffix}`;
const registry = `local-${suffix}`;
const repository = `acme-${suffix}/web`;
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
      - name: staging
        cluster: local
        approval: { timeout: 1h }
        targets:
          - { namespace: ${namespace}, kind: StatefulSet, name: db }
          - { namespace: ${namespace}, kind: DaemonSet, name: agent }
          - { namespace: ${namespace}, kind: CronJob, name: report }
`,
);
const labelsOf = (deployment: string, container: string) => ({
  pipeline: `web-${suffix}`,
  stage: 'staging',
  namespace,
  deployment,
  container,
  image,
});
const workloads = [
  labelsOf('statefulset/db', 'db'),
  labelsOf('daemonset/agent', 'agent'),
  labelsOf('cronjob/report', 'report'),
];

describe('freshness metrics of StatefulSet, DaemonSet and CronJob targets', () => {
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

  it('reports each kind up to date, behind after a rebuild, and up to date once it runs it', async () => {
    const v1 = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1.4' });
    await kube.apps.createNamespacedStatefulSet({
      namespace,
      body: statefulSetManifest({ name: 'db', image: v1.reference, replicas: 2 }),
    });
    await kube.apps.createNamespacedDaemonSet({
      namespace,
      body: daemonSetManifest({ name: 'agent', image: v1.reference }),
    });
    await kube.batch.createNamespacedCronJob({
      namespace,
      body: cronJobManifest({ name: 'report', image: v1.reference, schedule: '0 0 1 1 *' }),
    });
    daemon = await startTestDaemon(config);
    const values = async () => {
      const text = await scrape(daemon.url);
      return workloads.map((l) => sampleValue(text, 'freshet_image_up_to_date', l));
    };

    await waitFor('every kind up to date on the first digest', async () =>
      (await values()).every((v) => v === 1),
    );
    const v2 = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1.4' });
    await waitFor('every kind behind after the rebuild', async () => (await values()).every((v) => v === 0), {
      timeoutMs: 20_000,
    });
    const behind = await scrape(daemon.url);
    for (const l of workloads)
      expect(
        sampleValue(behind, 'freshet_image_behind_since_timestamp_seconds', l),
        l.deployment,
      ).toBeDefined();

    // The StatefulSet's pods take the rebuild (by hand here): only it is up to date again.
    await kube.apps.patchNamespacedStatefulSet({
      name: 'db',
      namespace,
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: v2.reference }],
    });
    await waitFor('the StatefulSet up to date on the rebuild', async () => (await values())[0] === 1, {
      timeoutMs: 60_000,
    });
    expect(await values()).toEqual([1, 0, 0]);
  }, 120_000);
});
