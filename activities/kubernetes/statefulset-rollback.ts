// A StatefulSet with the default OrderedReady policy never replaces a pod that is not Running
// and Ready: after its template is reverted, the pod that took the broken build stays broken
// and the rollback never becomes healthy (the StatefulSet documentation's "forced rollback").
// Freshet does what the documentation tells an operator to do: once the controller has seen the
// reverted template, it deletes this StatefulSet's pods that are not ready and not on the
// (reverted) update revision. Ready pods and pods of the current revision are never touched.
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import type { KubernetesClients } from './clients.ts';
import { apiStatus, kubernetesFailure } from './errors.ts';
import { readWorkload, type StatefulSetState, selectorText } from './workload.ts';

/** How long to wait for the controller to observe the reverted template. */
const observeMs = 15_000;

const isReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Pure: the pods to delete, given the StatefulSet as the controller has observed it. */
export function stuckStatefulSetPods(sts: StatefulSetState, pods: readonly V1Pod[]): string[] {
  if (sts.spec.podManagementPolicy === 'Parallel' || !sts.status.updateRevision) return [];
  if (sts.status.observedGeneration < sts.metadata.generation) return [];
  return pods
    .filter(
      (p) =>
        p.metadata?.ownerReferences?.some((o) => o.uid === sts.metadata.uid) &&
        !p.metadata.deletionTimestamp &&
        p.metadata.labels?.['controller-revision-hash'] !== sts.status.updateRevision &&
        !isReady(p),
    )
    .map((p) => p.metadata?.name ?? '')
    .filter(Boolean);
}

export async function releaseStuckStatefulSetPods(
  clients: KubernetesClients,
  reverted: StatefulSetState,
): Promise<string[]> {
  if (reverted.spec.podManagementPolicy === 'Parallel') return [];
  let sts = reverted;
  const until = Date.now() + observeMs;
  while (sts.status.observedGeneration < sts.metadata.generation && Date.now() < until) {
    await sleep(250);
    const now = await readWorkload(clients, 'StatefulSet', sts.namespace, sts.name);
    if (now?.kind !== 'StatefulSet') return [];
    sts = now;
  }
  const labelSelector = selectorText(sts.spec.selector.matchLabels ?? {}) || undefined;
  let pods: V1Pod[];
  try {
    pods = (await clients.core.listNamespacedPod({ namespace: sts.namespace, labelSelector })).items;
  } catch (err) {
    throw kubernetesFailure(clients.name, `list pods of StatefulSet ${sts.namespace}/${sts.name}`, err);
  }
  const stuck = stuckStatefulSetPods(sts, pods);
  for (const name of stuck) {
    try {
      await clients.core.deleteNamespacedPod({ namespace: sts.namespace, name });
    } catch (err) {
      if (apiStatus(err) === 404) continue;
      throw kubernetesFailure(
        clients.name,
        `delete pod ${sts.namespace}/${name} of StatefulSet ${sts.name}`,
        err,
      );
    }
  }
  return stuck;
}
