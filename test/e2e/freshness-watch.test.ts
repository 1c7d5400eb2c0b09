// Freshness follows the cluster through the daemon's shared watches: once the first collection
// has listed a target namespace, the gauge follows a rebuild and the new pods that run it while
// the daemon sends no further LIST of Pods or Deployments, however often the freshness is
// collected (here every 500 ms). A rollout's waits use the same watches. The daemon reaches the
// apiserver through a recording proxy, so what other tests ask of the cluster meanwhile does not
// count.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { createNamespace, deleteNamespace, deploymentManifest, kubeClients } from '../support/kube.ts';
import { startKubeProxy } from '../support/kube-proxy.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const kube = kubeClients(stack.kubernetes.kubeconfig);
const suffix = uniqueSuffix();
const namespace = `freshw-${suffix}`;
const registry = `local-${suffix}`;
const repository = `acme-${suffix}/web`;
const image = `web-${suffix}`;
let daemon: Daemon | undefined;
const proxy = await startKubeProxy(stack.kubernetes.kubeconfig);

const config = stackConfig(
  stack,
  `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${registry}, url: "\${REGISTRY_URL}" } ]
clusters: { local: { kubeconfig: "${proxy.kubeconfig}", context: freshet } }
images:
  - { name: ${image}, registry: ${registry}, repository: ${repository}, track: { tag: "1" }, pipeline: web-${suffix}, interval: 1s }
pipelines:
  web-${suffix}:
    stages:
      # The gate holds every rollout: only the test changes the Deployment.
      - { name: staging, cluster: local, approval: { timeout: 1h }, targets: [ { namespace: ${namespace}, deployment: web } ] }
`,
);
const labels = { namespace, deployment: 'web', container: 'web', image };

describe('freshness from shared watches', () => {
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
    await proxy.close();
    await deleteNamespace(kube, namespace);
  });

  it('follows a rebuild and a pod change with no LIST after the first collection', async () => {
    const v1 = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
    await kube.apps.createNamespacedDeployment({
      namespace,
      body: deploymentManifest({ name: 'web', image: v1.reference, replicas: 1 }),
    });
    const started = await startTestDaemon(config, { freshnessIntervalMs: 500 });
    daemon = started;
    const upToDate = async () => sampleValue(await scrape(started.url), 'freshet_image_up_to_date', labels);
    await waitFor('up to date on the first build (from the pods)', async () => (await upToDate()) === 1);
    // A LIST is a GET of the collection without watch=true; the watches' own requests carry it.
    const lists = (resource: string) =>
      proxy.requests.filter(
        (r) =>
          r.method === 'GET' &&
          new RegExp(`^/apis?/(?:[^?]+/)?namespaces/${namespace}/${resource}(?:\\?|$)`).test(r.path) &&
          !/[?&]watch=(?:true|1)/.test(r.path),
      ).length;
    const before = { pods: lists('pods'), deployments: lists('deployments') };
    expect(before.pods + before.deployments, 'the first collection listed through the proxy').toBeGreaterThan(
      0,
    );

    const v2 = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
    await waitFor('behind after the rebuild', async () => (await upToDate()) === 0, { timeoutMs: 30_000 });
    await kube.apps.patchNamespacedDeployment({
      name: 'web',
      namespace,
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: v2.reference }],
    });
    // Up to date again only once a pod reports the new build's imageID: the Pod watch saw it.
    await waitFor('up to date once the new pod runs the rebuild', async () => (await upToDate()) === 1, {
      timeoutMs: 60_000,
    });
    expect(lists('pods')).toBe(before.pods);
    expect(lists('deployments')).toBe(before.deployments);
  }, 120_000);
});
