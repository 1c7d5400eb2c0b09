// `npm run bench -- inventory`: what the inventory costs the registry. 200 Deployments of 10
// containers each (one an init container) run 200 distinct tags, each tag in 10 containers, on
// a registry of the run's own (its access log counts the requests). One tag is also a
// configured image. After the baseline digest of every image, idle check cycles of the
// registry's watch are counted; the baseline checks every container's image on its own, as a
// checker per container would.
import type { Client } from '@temporalio/client';
import { type Config, configSchema } from '../config/schema.ts';
import type { Endpoints } from '../stack/layout.ts';
import { pushImage } from '../test/support/image-pusher.ts';
import { createNamespace, deleteNamespace, kubeClients } from '../test/support/kube.ts';
import { startTestRegistry, type TestRegistry } from '../test/support/registry-process.ts';
import { waitFor } from '../test/support/wait.ts';
import { type Daemon, startDaemon } from '../worker/daemon.ts';
import { buildRegistryClients } from '../worker/registries.ts';
import { installQuietRuntime, type Progress, progressFor, runSuffix, warningsTo } from './harness.ts';
import { median, round } from './stats.ts';
import { checkGroupOnce, groupStatuses, runningPartIds, terminateGroup } from './watch-group.ts';

const workloads = 200;
const containersPerWorkload = 10;
const images = 200;
const idleCycles = 3;
const concurrency = 8;
const tag = '1';

export async function inventory(stack: Endpoints): Promise<Record<string, number>> {
  const progress = progressFor('inventory');
  installQuietRuntime();
  const suffix = runSuffix();
  const registryName = `inv-${suffix}`;
  const instance = `freshet-bench-inv-${suffix}`;
  const namespace = `bench-inv-${suffix}`;
  const repository = (i: number) => `inv-${suffix}/app${i}`;
  const kube = kubeClients(stack.kubernetes.kubeconfig);
  const registry = await startTestRegistry();
  let daemon: Daemon | undefined;
  try {
    progress(`registry ${registry.url}; pushing ${images} images`);
    await inParallel(images, (i) => pushImage({ registryUrl: registry.url, repository: repository(i), tag }));
    await createNamespace(kube, namespace);
    // Container j of workload w runs image (10w + j) mod 200: every image in 10 containers.
    const reference = (w: number, j: number) =>
      `${registry.host}/${repository((w * containersPerWorkload + j) % images)}:${tag}`;
    progress(`creating ${workloads} Deployments of ${containersPerWorkload} containers (no pods)`);
    await inParallel(workloads, (w) => {
      const containers = Array.from({ length: containersPerWorkload }, (_, j) => ({
        name: `c${j}`,
        image: reference(w, j),
      }));
      const labels = { app: `w${w}` };
      return kube.apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name: `w${w}`, labels },
          spec: {
            replicas: 0,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: { initContainers: containers.slice(0, 1), containers: containers.slice(1) },
            },
          },
        },
      });
    });
    const config: Config = configSchema.parse({
      temporal: { address: stack.temporal.address, taskQueue: instance },
      registries: [{ name: registryName, url: registry.url, maxConcurrency: 16 }],
      clusters: { local: { kubeconfig: stack.kubernetes.kubeconfig, context: 'freshet' } },
      // One tag is a configured image too: it must be checked once, not twice.
      images: [
        {
          name: `covered-${suffix}`,
          registry: registryName,
          repository: repository(0),
          track: { tag },
          interval: '1h',
        },
      ],
      inventory: { namespaces: [namespace], interval: '1h', scanInterval: '5s' },
    });
    progress('starting the daemon (bundling workflows)');
    daemon = await startDaemon({
      config,
      listen: '127.0.0.1:0',
      logger: warningsTo(progress),
      freshnessIntervalMs: 3_600_000,
    });
    const client = daemon.client;
    await awaitBaseline(client, instance, registryName, progress);

    const heads: number[] = [];
    const gets: number[] = [];
    for (let i = 0; i < idleCycles; i++) {
      const before = await settledRequestCount(registry);
      await checkOnce(client, instance, registryName);
      const requests = registry.requests().slice(before, await settledRequestCount(registry));
      heads.push(requests.filter((r) => r.method === 'HEAD').length);
      gets.push(requests.filter((r) => r.method === 'GET').length);
      progress(`idle cycle ${i + 1}/${idleCycles}: ${heads.at(-1)} HEAD, ${gets.at(-1)} GET`);
    }

    // The baseline: one HEAD per container and interval, as a checker per container costs.
    const clients = buildRegistryClients(config);
    const naiveClient = clients.get(registryName);
    if (!naiveClient) throw new Error('no registry client');
    const before = await settledRequestCount(registry);
    await inParallel(workloads * containersPerWorkload, (n) =>
      naiveClient.resolveDigest(repository(n % images), tag),
    );
    const naive = registry.requests().slice(before, await settledRequestCount(registry));
    const naiveHeads = naive.filter((r) => r.method === 'HEAD').length;
    progress(`baseline: ${naiveHeads} HEAD for ${workloads * containersPerWorkload} containers`);

    const headPerInterval = median(heads);
    return {
      workloads,
      containers: workloads * containersPerWorkload,
      distinct_images: images,
      head_per_interval: headPerInterval,
      get_per_interval: median(gets),
      head_per_distinct_image: round(headPerInterval / images, 3),
      naive_head_per_interval: naiveHeads,
      ratio_vs_naive: round(headPerInterval / naiveHeads, 3),
    };
  } finally {
    if (daemon) {
      await terminateGroup(daemon.client, instance, registryName);
      await daemon.close();
    }
    await deleteNamespace(kube, namespace);
    await registry.remove();
  }
}

async function inParallel(count: number, run: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await run(i);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function awaitBaseline(client: Client, instance: string, group: string, progress: Progress) {
  let reported = -1;
  await waitFor(
    `the first digest of all ${images} images in watch ${group}`,
    async () => {
      // The registry's group may run as several watches (worker/watch-parts.ts).
      const watched = (await groupStatuses(client, await runningPartIds(client, instance, group))).flatMap(
        (s) => s.images,
      );
      const seen = watched.filter((i) => i.state.latest).length;
      if (seen !== reported) progress(`baseline of ${seen}/${watched.length} images`);
      reported = seen;
      return watched.length === images && seen === images;
    },
    { timeoutMs: 180_000, intervalMs: 1_000 },
  );
}

async function checkOnce(client: Client, instance: string, group: string): Promise<void> {
  await checkGroupOnce(client, await runningPartIds(client, instance, group));
}

/** The access log's length once the registry has written every request it answered. */
async function settledRequestCount(registry: TestRegistry): Promise<number> {
  let last = registry.requests().length;
  for (let i = 0; i < 25; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = registry.requests().length;
    if (now === last) return now;
    last = now;
  }
  return last;
}
