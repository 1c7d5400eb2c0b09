// The fleet's freshness: every container and init container of every workload in the
// inventory's scope, in or out of a pipeline, joined with what the watches know of its image.
//
// Images are checked by the watches only, so each distinct image costs one HEAD per interval
// under the registry's pacing, however many containers run it: an image a configured image
// already follows (same registry, repository and tag) is that image; any other is added to its
// registry's watch as a watch-only image named by its reference (`host/repo:tag`), which never
// starts a rollout.

import { targetKinds, targetName } from '../activities/kubernetes/workload.ts';
import { parseImageReference, pinnedDigest } from '../activities/watch/image-reference.ts';
import type { Config, InventoryConfig } from '../config/schema.ts';
import type {
  ImageState,
  LookupFailureReason,
  WatchedImage,
  WatchStatus,
} from '../workflows/watch-messages.ts';
import type { ClusterClients } from './clusters.ts';
import { behindSince, labelsMatch } from './freshness.ts';
import { readWorkloads, type Workload, type WorkloadKind } from './inventory-workloads.ts';
import type { Metrics } from './metrics.ts';
import { registryHostIndex } from './registries.ts';
import { runningBuild } from './running-digest.ts';

/** Why a container's image has no newest build to compare with, when it has none. */
export type InventoryProblem = LookupFailureReason | 'no_registry' | 'no_tag' | 'unparsable' | 'unchecked';

export interface InventoryEntry {
  cluster: string;
  namespace: string;
  kind: WorkloadKind;
  workload: string;
  container: string;
  init: boolean;
  /** The image as Freshet names it: the configured image's name, or `host/repo:tag`. */
  image: string;
  /** The image as the pod template names it. */
  reference: string;
  inPipeline: boolean;
  runningDigest?: string;
  runningFrom?: 'pods' | 'spec';
  latestDigest?: string;
  upToDate: boolean;
  /** Unix seconds when the first build this container missed was seen. */
  behindSince?: number;
  /** Build time of what runs, and of the newest build (Unix seconds), when known. */
  runningCreated?: number;
  latestCreated?: number;
  lastCheckAt?: string;
  problem?: InventoryProblem;
  /** The last check's error, as the watch recorded it. */
  lookupError?: string;
  baseName?: string;
  baseBehindSince?: string;
}

/** How each container's image is named and watched, and the watch-only images to add. */
export interface ImagePlan {
  /** Watch-only images for references no configured image follows, sorted by name. */
  discovered: WatchedImage[];
  /** The watched image's name for a reference, or why it cannot be watched. */
  imageFor(reference: string): { name: string } | { problem: InventoryProblem };
}

const seconds = (iso: string | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);

/** The clusters the inventory reads: those it names, else every configured one. */
export function inventoryClusters(
  inventory: InventoryConfig,
  clusters: ReadonlyMap<string, ClusterClients>,
): ClusterClients[] {
  const names = inventory.clusters ?? [...clusters.keys()];
  return names.flatMap((n) => {
    const c = clusters.get(n);
    return c ? [c] : [];
  });
}

/** Every workload of the scope, cluster by cluster; a cluster that cannot be read is reported. */
export async function scanInventory(
  inventory: InventoryConfig,
  clusters: ReadonlyMap<string, ClusterClients>,
): Promise<{ workloads: Workload[]; problems: string[]; failedClusters: string[] }> {
  const out = { workloads: [] as Workload[], problems: [] as string[], failedClusters: [] as string[] };
  for (const cluster of inventoryClusters(inventory, clusters)) {
    try {
      const read = await readWorkloads(cluster, {
        namespaces: inventory.namespaces,
        ...(inventory.selector ? { selector: inventory.selector } : {}),
      });
      out.workloads.push(...read.workloads);
      out.problems.push(...read.problems.map((p) => `cluster ${cluster.name}: ${p}`));
    } catch (err) {
      out.failedClusters.push(cluster.name);
      out.problems.push(`cluster ${cluster.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}

/**
 * Names every image the workloads run. A digest-only reference has no tag whose newest build
 * could be looked up, and a host with no configured registry has no client (nor credentials):
 * both are reported as such, never guessed.
 */
export function planImages(
  config: Config,
  inventory: InventoryConfig,
  workloads: readonly Workload[],
): ImagePlan {
  const registryOf = registryHostIndex(config);
  const hostOf = new Map(config.registries.map((r) => [r.name, new URL(r.url).host]));
  const covered = new Map<string, string>();
  for (const img of config.images) {
    if (!img.track.tag) continue;
    const ref = parseImageReference(`${hostOf.get(img.registry) ?? ''}/${img.repository}:${img.track.tag}`);
    if (ref) covered.set(`${img.registry}\n${ref.repository}\n${ref.tag}`, img.name);
  }
  const discovered = new Map<string, WatchedImage>();
  const answers = new Map<string, { name: string } | { problem: InventoryProblem }>();
  const imageFor = (reference: string) => {
    const known = answers.get(reference);
    if (known) return known;
    const ref = parseImageReference(reference);
    const registry = ref && registryOf(ref.host);
    let answer: { name: string } | { problem: InventoryProblem };
    if (!ref) answer = { problem: 'unparsable' };
    else if (!registry) answer = { problem: 'no_registry' };
    else if (!ref.tag) answer = { problem: 'no_tag' };
    else {
      const configured = covered.get(`${registry}\n${ref.repository}\n${ref.tag}`);
      const name = configured ?? `${ref.host}/${ref.repository}:${ref.tag}`;
      if (!configured && !discovered.has(name)) {
        discovered.set(name, {
          name,
          registry,
          repository: ref.repository,
          track: { tag: ref.tag },
          intervalMs: inventory.interval,
          platform: 'linux/amd64',
        });
      }
      answer = { name };
    }
    answers.set(reference, answer);
    return answer;
  };
  for (const w of workloads) for (const c of w.containers) imageFor(c.image);
  return {
    discovered: [...discovered.values()].sort((a, b) => a.name.localeCompare(b.name)),
    imageFor,
  };
}

/** Whether a pipeline stage targets this container (targets name Deployments). */
function inPipeline(config: Config, w: Workload, container: string, image: string): boolean {
  for (const img of config.images) {
    if (!img.pipeline) continue;
    for (const stage of config.pipelines[img.pipeline]?.stages ?? []) {
      if (stage.cluster !== w.cluster) continue;
      for (const t of stage.targets) {
        if (t.namespace !== w.namespace) continue;
        if (!targetKinds(t).includes(w.kind)) continue;
        const name = targetName(t);
        if (name !== undefined ? name !== w.name : !labelsMatch(w.labels, t.selector ?? {})) continue;
        if (t.container ? t.container === container : img.name === image) return true;
      }
    }
  }
  return false;
}

/** Joins the workloads with the watches' states: one entry per container and init container. */
export function inventoryEntries(
  config: Config,
  workloads: readonly Workload[],
  plan: ImagePlan,
  statuses: readonly WatchStatus[],
): InventoryEntry[] {
  const states = new Map<string, ImageState>();
  for (const s of statuses) for (const { image, state } of s.images) states.set(image.name, state);
  const out: InventoryEntry[] = [];
  for (const w of workloads) {
    for (const c of w.containers) {
      const named = plan.imageFor(c.image);
      const image = 'name' in named ? named.name : c.image;
      const state = 'name' in named ? states.get(named.name) : undefined;
      const running = runningBuild(state, c.pods, pinnedDigest(c.image));
      const since = state && running.digest ? behindSince(state, running.digest) : undefined;
      const problem: InventoryProblem | undefined =
        'problem' in named
          ? named.problem
          : state?.lastError && state.lastErrorReason
            ? state.lastErrorReason
            : state?.lastError
              ? 'error'
              : !state?.latest
                ? 'unchecked'
                : undefined;
      const runningCreated = seconds(running.record?.created);
      const latestCreated = seconds(state?.latest?.created);
      out.push({
        cluster: w.cluster,
        namespace: w.namespace,
        kind: w.kind,
        workload: w.name,
        container: c.name,
        init: c.init,
        image,
        reference: c.image,
        inPipeline: inPipeline(config, w, c.name, image),
        upToDate: running.upToDate,
        ...(running.digest ? { runningDigest: running.digest } : {}),
        ...(running.from ? { runningFrom: running.from } : {}),
        ...(state?.latest ? { latestDigest: state.latest.digest } : {}),
        ...(since !== undefined ? { behindSince: since } : {}),
        ...(runningCreated !== undefined ? { runningCreated } : {}),
        ...(latestCreated !== undefined ? { latestCreated } : {}),
        ...(state?.lastCheckAt ? { lastCheckAt: state.lastCheckAt } : {}),
        ...(problem ? { problem } : {}),
        ...(state?.lastError ? { lookupError: state.lastError } : {}),
        ...(state?.baseName ? { baseName: state.baseName } : {}),
        ...(state?.baseBehindSince ? { baseBehindSince: state.baseBehindSince } : {}),
      });
    }
  }
  return out;
}

/** Replaces every inventory gauge at once (no await in between), so a scrape never sees half. */
export function publishInventory(
  metrics: Metrics,
  entries: readonly InventoryEntry[],
  statuses: readonly WatchStatus[],
  scans: ReadonlyMap<string, number>,
): void {
  metrics.workloadUpToDate.reset();
  metrics.workloadBehindSince.reset();
  metrics.workloadImageCreated.reset();
  metrics.imageAbsent.reset();
  metrics.imageLastCheck.reset();
  metrics.inventoryLastScan.reset();
  for (const e of entries) {
    const labels = {
      cluster: e.cluster,
      namespace: e.namespace,
      kind: e.kind,
      workload: e.workload,
      container: e.container,
      image: e.image,
      in_pipeline: String(e.inPipeline),
    };
    metrics.workloadUpToDate.set(labels, e.upToDate ? 1 : 0);
    if (e.behindSince !== undefined) metrics.workloadBehindSince.set(labels, e.behindSince);
    if (e.runningCreated !== undefined) metrics.workloadImageCreated.set(labels, e.runningCreated);
  }
  for (const status of statuses) {
    for (const { image, state } of status.images) {
      const checked = seconds(state.lastCheckAt);
      if (checked === undefined) continue;
      metrics.imageLastCheck.set({ image: image.name }, checked);
      metrics.imageAbsent.set({ image: image.name }, state.lastErrorReason === 'absent' ? 1 : 0);
    }
  }
  for (const [cluster, at] of scans) metrics.inventoryLastScan.set({ cluster }, at);
}
