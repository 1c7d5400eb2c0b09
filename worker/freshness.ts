// Joins what each target runs (from Kubernetes) with what the watches know (from Temporal) into
// the freshness metrics. Runs on a timer so a scrape only reads finished gauges.
import type { V1CronJob, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { labelsMatch } from '../activities/kubernetes/deployment.ts';
import type { WatchedKind } from '../activities/kubernetes/shared-watches.ts';
import type { WorkloadKind } from '../activities/kubernetes/types.ts';
import { targetKinds, targetName, workloadLabel } from '../activities/kubernetes/workload.ts';
import { registryHost } from '../activities/rollout/pipeline-spec.ts';
import { pinnedDigest, referencesImage } from '../activities/watch/image-reference.ts';
import type { Config } from '../config/schema.ts';
import type { DigestRecord, ImageState, WatchStatus } from '../workflows/watch-messages.ts';
import type { ClusterClients } from './clusters.ts';
import type { Metrics } from './metrics.ts';
import {
  isPlatformManifest,
  labelIndex,
  nodePlatform,
  type PodImage,
  podImages,
  runningBuild,
  templateContainers,
} from './running-digest.ts';

export interface TargetFreshness {
  pipeline: string;
  stage: string;
  namespace: string;
  /** Absent: a Deployment. */
  kind?: WorkloadKind;
  /** The workload's name; `statefulset/db` style for kinds other than Deployment. */
  deployment: string;
  container: string;
  image: string;
  /** The build the target runs; its OLDEST when pods differ (see runningBuild). */
  runningDigest?: string;
  /** `pods`: read from the pods' imageID; `spec`: the Deployment's pinned digest, no pod reports one. */
  runningFrom?: 'pods' | 'spec';
  upToDate: boolean;
  /** Unix seconds when the first build this target missed was seen. */
  behindSince?: number;
  runningCreated?: number;
  latestDigest?: string;
}

const seconds = (iso: string | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);

/**
 * Staleness starts with the first build the target missed: the record just newer than the one
 * it runs. A digest older than the kept history dates from the oldest record known.
 */
export function behindSince(state: ImageState, running: string | undefined): number | undefined {
  const latest = state.latest;
  if (!latest || running === latest.digest) return undefined;
  const history: DigestRecord[] = [latest, ...state.previous];
  const at = history.findIndex((r) => r.digest === running);
  const missed = at > 0 ? history[at - 1] : history[history.length - 1];
  return seconds(missed?.firstSeenAt);
}

export { labelsMatch };

/**
 * Node platforms by node name, read once per cluster per collection and only when a pod reports
 * a platform manifest. Without permission to list nodes (the least-privilege RBAC grants none),
 * the map is empty and the index alone proves the build.
 */
function nodePlatforms(cluster: ClusterClients): Promise<Map<string, string>> {
  return cluster.core.listNode().then(
    (list) => {
      const out = new Map<string, string>();
      for (const node of list.items) {
        const platform = nodePlatform(node.metadata?.labels);
        if (node.metadata?.name && platform) out.set(node.metadata.name, platform);
      }
      return out;
    },
    () => new Map<string, string>(),
  );
}

/** A workload seen as a Deployment-shaped pod owner: its selector and pod template. */
interface PodOwner {
  kind: WorkloadKind;
  workload: V1Deployment;
}

/** The kind's objects in the namespace: from the shared watch when the daemon has one, else one LIST. */
async function listOfKind(
  cluster: ClusterClients,
  namespace: string,
  kind: WatchedKind,
): Promise<readonly unknown[]> {
  const watched = await cluster.watches?.objects(kind, namespace);
  if (watched) return watched.list();
  switch (kind) {
    case 'Deployment':
      return (await cluster.apps.listNamespacedDeployment({ namespace })).items;
    case 'StatefulSet':
      return (await cluster.apps.listNamespacedStatefulSet({ namespace })).items;
    case 'DaemonSet':
      return (await cluster.apps.listNamespacedDaemonSet({ namespace })).items;
    case 'CronJob':
      return (await cluster.batch.listNamespacedCronJob({ namespace })).items;
    case 'Pod':
      return (await cluster.core.listNamespacedPod({ namespace })).items;
  }
}

async function listPodOwners(
  cluster: ClusterClients,
  namespace: string,
  kind: WorkloadKind,
): Promise<PodOwner[]> {
  const items = await listOfKind(cluster, namespace, kind);
  if (kind !== 'CronJob') return items.map((workload) => ({ kind, workload: workload as V1Deployment }));
  return (items as V1CronJob[]).map((cj) => ({
    kind,
    workload: {
      metadata: cj.metadata,
      spec: { selector: {}, template: cj.spec?.jobTemplate.spec?.template ?? {} },
    } as V1Deployment,
  }));
}

/**
 * Pods, and each kind the targets name, per cluster and namespace: from the daemon's shared watches
 * (no request per collection), else one LIST each per collection.
 */
export async function collectTargets(
  config: Config,
  clusters: ReadonlyMap<string, ClusterClients>,
  statuses: readonly WatchStatus[],
): Promise<TargetFreshness[]> {
  const states = new Map<string, ImageState>();
  for (const s of statuses) for (const { image, state } of s.images) states.set(image.name, state);
  const podLists = new Map<string, Promise<V1Pod[]>>();
  // Per list of one collection: pods by label, workloads by name and by label.
  const podIndexes = new WeakMap<readonly V1Pod[], ReturnType<typeof labelIndex<V1Pod>>>();
  const podsFor = (pods: readonly V1Pod[], selector: Record<string, string>) => {
    let index = podIndexes.get(pods);
    if (!index) {
      index = labelIndex(pods);
      podIndexes.set(pods, index);
    }
    return index(selector);
  };
  const workloadLists = new Map<string, Promise<PodOwner[]>>();
  const listPods = (cluster: ClusterClients, namespace: string) => {
    const key = `${cluster.name}/${namespace}`;
    let p = podLists.get(key);
    if (!p) {
      p = listOfKind(cluster, namespace, 'Pod') as Promise<V1Pod[]>;
      podLists.set(key, p);
    }
    return p;
  };
  const listKind = (cluster: ClusterClients, namespace: string, kind: WorkloadKind) => {
    const key = `${cluster.name}/${namespace}/${kind}`;
    let p = workloadLists.get(key);
    if (!p) {
      p = listPodOwners(cluster, namespace, kind);
      workloadLists.set(key, p);
    }
    return p;
  };
  const nodes = new Map<string, Promise<Map<string, string>>>();
  const withNodePlatforms = async (
    cluster: ClusterClients,
    state: ImageState | undefined,
    pods: PodImage[],
  ) => {
    if (!pods.some((p) => isPlatformManifest(state, p.digest))) return pods;
    let p = nodes.get(cluster.name);
    if (!p) {
      p = nodePlatforms(cluster);
      nodes.set(cluster.name, p);
    }
    const platforms = await p;
    return pods.map((pod) => {
      const platform = pod.nodeName ? platforms.get(pod.nodeName) : undefined;
      return platform ? { ...pod, nodePlatform: platform } : pod;
    });
  };
  const out: TargetFreshness[] = [];
  for (const image of config.images) {
    if (!image.pipeline) continue;
    const pipeline = config.pipelines[image.pipeline];
    const state = states.get(image.name);
    for (const stage of pipeline?.stages ?? []) {
      const cluster = clusters.get(stage.cluster);
      if (!cluster) continue;
      for (const target of stage.targets) {
        const allPods = await listPods(cluster, target.namespace);
        const name = targetName(target);
        const owners = (
          await Promise.all(targetKinds(target).map((k) => listKind(cluster, target.namespace, k)))
        ).flat();
        const chosen = owners.filter((o) =>
          name !== undefined
            ? o.workload.metadata?.name === name
            : labelsMatch(o.workload.metadata?.labels, target.selector ?? {}),
        );
        for (const { kind: workloadKind, workload: d } of chosen) {
          // A CronJob's pods are its finished Jobs': what it will run next is its spec.
          const pods =
            workloadKind === 'CronJob' ? [] : podsFor(allPods, d.spec?.selector?.matchLabels ?? {});
          for (const { container: c, kind } of templateContainers(d)) {
            if (
              target.container
                ? c.name !== target.container
                : !referencesImage(c.image ?? '', registryHost(config, image.registry), image.repository)
            ) {
              continue;
            }
            const reported = await withNodePlatforms(cluster, state, podImages(pods, d, c.name, kind));
            const running = runningBuild(state, reported, pinnedDigest(c.image ?? ''));
            const since = state && running.digest ? behindSince(state, running.digest) : undefined;
            const created = seconds(running.record?.created);
            out.push({
              pipeline: image.pipeline,
              stage: stage.name,
              namespace: target.namespace,
              ...(workloadKind === 'Deployment' ? {} : { kind: workloadKind }),
              deployment: workloadLabel(workloadKind, d.metadata?.name ?? ''),
              container: c.name,
              image: image.name,
              upToDate: running.upToDate,
              ...(running.digest ? { runningDigest: running.digest } : {}),
              ...(running.from ? { runningFrom: running.from } : {}),
              ...(since !== undefined ? { behindSince: since } : {}),
              ...(created !== undefined ? { runningCreated: created } : {}),
              ...(state?.latest ? { latestDigest: state.latest.digest } : {}),
            });
          }
        }
      }
    }
  }
  return out;
}

/** Replaces every freshness gauge at once (no await in between), so a scrape never sees half. */
export function publishFreshness(
  metrics: Metrics,
  config: Config,
  targets: readonly TargetFreshness[],
  statuses: readonly WatchStatus[],
): void {
  metrics.imageUpToDate.reset();
  metrics.imageBehindSince.reset();
  metrics.runningCreated.reset();
  metrics.baseBehind.reset();
  metrics.baseBehindSince.reset();
  metrics.imageInfo.reset();
  metrics.watchLastSuccess.reset();
  metrics.imageCheckFailing.reset();
  for (const t of targets) {
    const labels = {
      pipeline: t.pipeline,
      stage: t.stage,
      namespace: t.namespace,
      deployment: t.deployment,
      container: t.container,
      image: t.image,
    };
    metrics.imageUpToDate.set(labels, t.upToDate ? 1 : 0);
    if (t.behindSince !== undefined) metrics.imageBehindSince.set(labels, t.behindSince);
    if (t.runningCreated !== undefined) metrics.runningCreated.set(labels, t.runningCreated);
  }
  const lastSuccess = new Map<string, number>();
  for (const status of statuses) {
    for (const { image, state } of status.images) {
      if (state.latest) {
        metrics.imageInfo.set(
          {
            image: image.name,
            tag: state.latest.tag,
            digest: state.latest.digest,
            base_name: state.baseName ?? '',
            base_from: state.baseFrom ?? '',
          },
          1,
        );
      }
      if (state.baseName && state.baseLatestDigest) {
        metrics.baseBehind.set({ image: image.name }, state.baseBehindSince ? 1 : 0);
        const since = seconds(state.baseBehindSince);
        if (since !== undefined) metrics.baseBehindSince.set({ image: image.name }, since);
      }
      if (state.lastCheckAt) metrics.imageCheckFailing.set({ image: image.name }, state.lastError ? 1 : 0);
      const ok = seconds(state.lastSuccessAt);
      if (ok !== undefined)
        lastSuccess.set(image.registry, Math.max(lastSuccess.get(image.registry) ?? 0, ok));
    }
  }
  for (const r of config.registries) {
    const ok = lastSuccess.get(r.name);
    if (ok !== undefined) metrics.watchLastSuccess.set({ registry: r.name }, ok);
  }
}
