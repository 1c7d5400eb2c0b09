// What a target really runs (invariant 2): the digests its pods report in `imageID`, mapped to
// the builds the watch knows. Pure, so the rule is unit-tested without a cluster.
import type { V1Container, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { labelsMatch } from '../activities/kubernetes/deployment.ts';
import { platformServes } from '../activities/registry/platform.ts';
import type { DigestRecord, ImageState } from '../workflows/watch-messages.ts';

/** One running container as a pod reports it. */
export interface PodImage {
  /** The manifest digest from `imageID`: an index digest, or the platform manifest some runtimes report. */
  digest: string;
  /** The pod's node as `os/arch` from its labels, when Freshet could read the node. */
  nodePlatform?: string;
  nodeName?: string;
}

export interface RunningBuild {
  /** The build the target runs, as the watch names it: a platform manifest maps to its index. */
  digest?: string;
  /** The watch's record of that build, when it is one the watch has seen. */
  record?: DigestRecord;
  /** Where the digest came from: the pods, or the Deployment's pinned image when no pod reports one. */
  from?: 'pods' | 'spec';
  upToDate: boolean;
}

/**
 * The digest in an imageID: `host/repo@sha256:…` (containerd, CRI-O), `docker-pullable://…@sha256:…`
 * (dockershim). A bare `sha256:…` is a runtime's local image id, not a registry digest: ignored.
 */
export function imageIdDigest(imageID: string | undefined): string | undefined {
  return imageID ? /@(sha256:[a-f0-9]{64})$/.exec(imageID)?.[1] : undefined;
}

/** A pod that is being deleted or has finished runs nothing a user waits for. */
const isLive = (pod: V1Pod) =>
  !pod.metadata?.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';

/**
 * What each live pod of the Deployment runs in the named container. An init container is read
 * from initContainerStatuses, a regular one from containerStatuses; pods that report no digest
 * yet (still pulling) are left out.
 */
export function podImages(
  pods: readonly V1Pod[],
  d: V1Deployment,
  container: string,
  kind: 'container' | 'init',
): PodImage[] {
  const selector = d.spec?.selector?.matchLabels ?? {};
  const out: PodImage[] = [];
  for (const pod of pods) {
    if (!isLive(pod) || !labelsMatch(pod.metadata?.labels, selector)) continue;
    const statuses = kind === 'init' ? pod.status?.initContainerStatuses : pod.status?.containerStatuses;
    const digest = imageIdDigest(statuses?.find((c) => c.name === container)?.imageID);
    const nodeName = pod.spec?.nodeName;
    if (digest) out.push({ digest, ...(nodeName ? { nodeName } : {}) });
  }
  return out;
}

/**
 * Objects of one list by label: `matching(selector)` gives those a selector may match (all of one
 * of its labels' bucket, the smallest), so matching 1,000 workloads against 1,000 pods costs
 * about 1,000 lookups instead of 1,000,000 comparisons. The caller still checks every label.
 */
export function labelIndex<T extends { metadata?: { labels?: Record<string, string> } }>(
  items: readonly T[],
): (selector: Record<string, string>) => readonly T[] {
  const buckets = new Map<string, T[]>();
  for (const item of items) {
    for (const [k, v] of Object.entries(item.metadata?.labels ?? {})) {
      const key = `${k}=${v}`;
      const bucket = buckets.get(key);
      if (bucket) bucket.push(item);
      else buckets.set(key, [item]);
    }
  }
  return (selector) => {
    let best: readonly T[] | undefined;
    for (const [k, v] of Object.entries(selector)) {
      const bucket = buckets.get(`${k}=${v}`) ?? [];
      if (!best || bucket.length < best.length) best = bucket;
    }
    return best ?? items;
  };
}

/** The containers of a pod template Freshet may watch, init containers included. */
export function templateContainers(
  d: V1Deployment,
): { container: V1Container; kind: 'container' | 'init' }[] {
  const spec = d.spec?.template.spec;
  return [
    ...(spec?.containers ?? []).map((container) => ({ container, kind: 'container' as const })),
    ...(spec?.initContainers ?? []).map((container) => ({ container, kind: 'init' as const })),
  ];
}

const historyOf = (state: ImageState | undefined): DigestRecord[] =>
  state?.latest ? [state.latest, ...state.previous] : [];

/** Whether a digest is known only as a platform manifest of an index, so the node's platform matters. */
export function isPlatformManifest(state: ImageState | undefined, digest: string): boolean {
  const history = historyOf(state);
  return (
    !history.some((r) => r.digest === digest) &&
    history.some((r) => r.platforms?.some((p) => p.digest === digest))
  );
}

/**
 * The build a pod runs and its age in the history (0 = newest; unknown = older than all kept).
 * A platform manifest counts as its index's build when the index lists it for the pod's node
 * platform; when the node could not be read, being listed in the index is the proof.
 */
function buildOf(history: DigestRecord[], pod: PodImage): { digest: string; age: number } {
  let age = history.findIndex((r) => r.digest === pod.digest);
  if (age < 0) {
    age = history.findIndex((r) =>
      r.platforms?.some(
        (p) => p.digest === pod.digest && (!pod.nodePlatform || platformServes(p.platform, pod.nodePlatform)),
      ),
    );
  }
  return age < 0 ? { digest: pod.digest, age: history.length } : { digest: history[age]?.digest ?? '', age };
}

/**
 * The rule: a target is up to date only when every pod runs the newest build, and it reports the
 * OLDEST build any pod runs, so one pod left on an old digest after a restart keeps the target
 * behind, dated from the first build that pod missed. The spec's pinned digest stands in only
 * when no pod reports a digest (none scheduled, or all still pulling).
 */
export function runningBuild(
  state: ImageState | undefined,
  pods: readonly PodImage[],
  specPin: string | undefined,
): RunningBuild {
  const history = historyOf(state);
  const reported: PodImage[] = pods.length ? [...pods] : specPin ? [{ digest: specPin }] : [];
  if (reported.length === 0) return { upToDate: false };
  const builds = reported.map((p) => buildOf(history, p));
  const oldest = builds.reduce((a, b) => (b.age > a.age ? b : a));
  const record = history[oldest.age];
  const latest = state?.latest?.digest;
  return {
    digest: oldest.digest,
    ...(record ? { record } : {}),
    from: pods.length ? 'pods' : 'spec',
    upToDate: latest !== undefined && builds.every((b) => b.digest === latest),
  };
}

/** `linux/arm64` from a node's well-known labels; undefined when the node does not say. */
export function nodePlatform(labels: Record<string, string> | undefined): string | undefined {
  const os = labels?.['kubernetes.io/os'] ?? labels?.['beta.kubernetes.io/os'];
  const arch = labels?.['kubernetes.io/arch'] ?? labels?.['beta.kubernetes.io/arch'];
  return os && arch ? `${os}/${arch}` : undefined;
}
