// Puts back the image a failed rollout replaced, but only while the container still runs what
// that rollout set, with its rollout-id annotation (invariant 3): anything else is someone's
// newer change, reported as drift. It needs no consent from the current config for the target:
// a rollout started under an older config may still undo what it changed (invariant 12).
import { ApplicationFailure } from '@temporalio/common';
import type { KubernetesClients } from './clients.ts';
import { type EventRecorder, imageRolledBackEvent } from './events.ts';
import { releaseStuckStatefulSetPods } from './statefulset-rollback.ts';
import type { RollbackInput, RollbackResult } from './types.ts';
import {
  annotations,
  containerImage,
  kindOf,
  patchContainerImage,
  readWorkload,
  type WorkloadState,
  workloadLabel,
  workloadRef,
} from './workload.ts';

const attempts = 3;

export async function rollbackDeployment(
  clients: KubernetesClients,
  input: RollbackInput,
  recordEvent?: EventRecorder,
): Promise<RollbackResult> {
  const { namespace, deployment, container } = input.ref;
  const kind = kindOf(input.ref);
  // A StatefulSet keeps a pod of the reverted revision that never became ready: it must go.
  const settle = async (w: WorkloadState) => {
    if (w.kind === 'StatefulSet') await releaseStuckStatefulSetPods(clients, w);
  };
  for (let i = 0; i < attempts; i++) {
    const d = await readWorkload(clients, kind, namespace, deployment);
    const current = d ? containerImage(d, container) : undefined;
    if (!d || current === undefined) return { result: 'drift', currentImage: '', generation: 0 };
    const generation = d.metadata.generation;
    // Checked first so a rollout whose from and to images are equal counts as already reverted.
    if (current === input.toImage) {
      // A retry after the patch landed still releases what the first attempt could not.
      if (d.metadata.annotations?.[annotations.rolledBackBy] === input.rolloutId) await settle(d);
      return { result: 'already', currentImage: current, generation };
    }
    const setByThisRollout =
      current === input.fromImage && d.metadata.annotations?.[annotations.rolloutId] === input.rolloutId;
    if (!setByThisRollout) return { result: 'drift', currentImage: current, generation };
    const patched = await patchContainerImage(clients, d, container, current, input.toImage, {
      [annotations.rolledBackBy]: input.rolloutId,
      [annotations.image]: input.toImage,
      [annotations.changeCause]: `freshet rollback of ${input.rolloutId}: ${input.reason}`,
    });
    if (patched !== 'moved') {
      const event = imageRolledBackEvent({
        name: deployment,
        container,
        image: input.toImage,
        rolloutId: input.rolloutId,
        reason: input.reason,
      });
      await recordEvent?.(clients, workloadRef(patched), event);
      await settle(patched);
      return { result: 'reverted', currentImage: input.toImage, generation: patched.metadata.generation };
    }
  }
  throw ApplicationFailure.retryable(
    `cluster ${clients.name}: ${namespace}/${workloadLabel(kind, deployment)} container ${container} kept changing during rollback`,
    'DeploymentConflict',
  );
}
