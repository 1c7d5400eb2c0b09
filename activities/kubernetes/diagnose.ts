// Why a rollout is stuck, in the words of its pods: a failure that says "ImagePullBackOff (3)"
// saves the operator a kubectl session.
import type { V1Pod } from '@kubernetes/client-node';
import type { KubernetesClients } from './clients.ts';
import { selectorText, type WorkloadState, podSelector as workloadPodSelector } from './workload.ts';

export interface PodSummary {
  /** Pods of the newest ReplicaSet (or of the Deployment's selector when that is not known). */
  total: number;
  ready: number;
  /** Pods per reason, e.g. `{ ImagePullBackOff: 3 }`. */
  waiting: Record<string, number>;
}

const isReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** Pure: counts each pod once per distinct reason it waits for. */
export function summarisePods(pods: readonly V1Pod[]): PodSummary {
  const waiting: Record<string, number> = {};
  let ready = 0;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    if (isReady(pod)) {
      ready++;
      continue;
    }
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    const reasons = new Set<string>();
    for (const c of statuses) {
      const reason = c.state?.waiting?.reason ?? c.state?.terminated?.reason;
      if (reason) reasons.add(reason);
    }
    const unscheduled = pod.status?.conditions?.find(
      (c) => c.type === 'PodScheduled' && c.status === 'False',
    );
    if (reasons.size === 0 && unscheduled) reasons.add(unscheduled.reason ?? 'Unscheduled');
    if (reasons.size === 0)
      reasons.add(pod.status?.phase === 'Running' ? 'NotReady' : (pod.status?.phase ?? 'Unknown'));
    for (const r of reasons) waiting[r] = (waiting[r] ?? 0) + 1;
  }
  const total = pods.filter((p) => !p.metadata?.deletionTimestamp).length;
  return { total, ready, waiting };
}

/** `0/3 updated replicas ready; pods waiting: ImagePullBackOff (3)` */
export function describePods(summary: PodSummary, desired: number): string {
  const reasons = Object.entries(summary.waiting)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .map(([reason, n]) => `${reason} (${n})`);
  const head = `${summary.ready}/${desired} updated replicas ready`;
  return reasons.length ? `${head}; pods waiting: ${reasons.join(', ')}` : head;
}

const revision = (annotations: Record<string, string> | undefined) =>
  Number(annotations?.['deployment.kubernetes.io/revision'] ?? 0);

/**
 * Lists the pods of the newest revision: a Deployment's newest ReplicaSet, a StatefulSet's
 * updateRevision, a DaemonSet's pods (a CronJob has none to speak of). Best effort: it only
 * decorates a failure that is already certain, so its own errors yield undefined instead of
 * hiding that failure.
 */
export async function diagnosePods(
  clients: KubernetesClients,
  d: WorkloadState,
): Promise<PodSummary | undefined> {
  if (d.kind === 'CronJob') return undefined;
  try {
    const matchLabels = workloadPodSelector(d);
    if (d.kind !== 'Deployment') {
      const revision = d.kind === 'StatefulSet' ? d.status.updateRevision : '';
      const selector = revision ? { ...matchLabels, 'controller-revision-hash': revision } : matchLabels;
      const pods = await clients.core.listNamespacedPod({
        namespace: d.namespace,
        labelSelector: selectorText(selector) || undefined,
      });
      return summarisePods(
        pods.items.filter((p) => p.metadata?.ownerReferences?.some((o) => o.uid === d.metadata.uid)),
      );
    }
    const labelSelector = selectorText(matchLabels) || undefined;
    const sets = await clients.apps.listNamespacedReplicaSet({ namespace: d.namespace, labelSelector });
    const owned = sets.items.filter((rs) =>
      rs.metadata?.ownerReferences?.some((o) => o.uid === d.metadata.uid),
    );
    const newest = owned.sort(
      (a, b) => revision(b.metadata?.annotations) - revision(a.metadata?.annotations),
    )[0];
    const hash = newest?.metadata?.labels?.['pod-template-hash'];
    const podSelector = hash ? { ...matchLabels, 'pod-template-hash': hash } : matchLabels;
    const pods = await clients.core.listNamespacedPod({
      namespace: d.namespace,
      labelSelector: selectorText(podSelector) || undefined,
    });
    return summarisePods(pods.items);
  } catch {
    return undefined;
  }
}
