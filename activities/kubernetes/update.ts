// Sets one container to the new image and records on the workload what Freshet changed
// (invariant 2). Idempotent (invariant 3): a second run finds the image set and changes nothing.
import { ApplicationFailure } from '@temporalio/common';
import type { KubernetesAuthority } from './authority.ts';
import type { KubernetesClients } from './clients.ts';
import { containerNotFound, deploymentNotFound, notInConfig } from './errors.ts';
import { type EventRecorder, imageUpdatedEvent } from './events.ts';
import type { UpdateInput, UpdateResult } from './types.ts';
import {
  annotations,
  containerImage,
  containerNames,
  kindOf,
  ownerOf,
  parseWorkload,
  patchContainerImage,
  readWorkload,
  workloadLabel,
  workloadRef,
} from './workload.ts';

/**
 * The shared watch's copy when it still shows the planned image: the patch's `test` ops refuse it
 * if that copy is stale, and the next attempt reads afresh. Anything else is read from the apiserver.
 */
async function readPlanned(clients: KubernetesClients, input: UpdateInput) {
  const { namespace, deployment, container } = input.ref;
  const kind = kindOf(input.ref);
  const shared = await clients.watches?.objects(kind, namespace);
  const raw = shared?.healthy() ? shared.get(deployment) : undefined;
  const cached = raw ? parseWorkload(kind, raw, namespace) : undefined;
  // Without annotations the patch adds the whole map: only a fresh read may say there are none.
  if (cached?.metadata.annotations && containerImage(cached, container) === input.previousImage)
    return cached;
  return readWorkload(clients, kind, namespace, deployment);
}

/** Concurrent writers rarely collide twice; beyond that, let the activity's retry policy pace us. */
const attempts = 3;

export async function updateDeploymentImage(
  clients: KubernetesClients,
  input: UpdateInput,
  authority: Pick<KubernetesAuthority, 'instance' | 'updateRefusal'>,
  recordEvent?: EventRecorder,
): Promise<UpdateResult> {
  const { namespace, deployment, container } = input.ref;
  const kind = kindOf(input.ref);
  const where = `${namespace}/${workloadLabel(kind, deployment)}`;
  for (let i = 0; i < attempts; i++) {
    const d =
      i === 0 ? await readPlanned(clients, input) : await readWorkload(clients, kind, namespace, deployment);
    if (!d) throw deploymentNotFound(clients.name, namespace, deployment, kind);
    // A selector target is judged by the labels the workload has now.
    const refused = authority.updateRefusal(input, d.metadata.labels);
    if (refused) throw notInConfig(refused);
    const owner = ownerOf(d);
    if (owner && (owner.pipeline !== input.pipeline || owner.instance !== authority.instance)) {
      throw ApplicationFailure.nonRetryable(
        `${where} belongs to pipeline "${owner.pipeline}" of Freshet instance "${owner.instance}", not to pipeline "${input.pipeline}" of "${authority.instance}"; Freshet leaves it alone`,
        'DeploymentOwnedElsewhere',
      );
    }
    const current = containerImage(d, container);
    if (current === undefined) {
      throw containerNotFound(
        clients.name,
        namespace,
        workloadLabel(kind, deployment),
        container,
        containerNames(d),
      );
    }
    if (current === input.newImage)
      return { changed: false, generation: d.metadata.generation, image: current };
    // Someone changed it since the plan: theirs wins, and the stage stops (invariant 3).
    if (current !== input.previousImage) {
      throw ApplicationFailure.nonRetryable(
        `${where} container ${container} now runs ${current}, not ${input.previousImage} as planned; someone else changed it, so Freshet leaves it alone`,
        'DeploymentDrifted',
      );
    }
    const patched = await patchContainerImage(clients, d, container, current, input.newImage, {
      [annotations.rolloutId]: input.rolloutId,
      [annotations.previousImage]: input.previousImage,
      [annotations.image]: input.newImage,
      [annotations.changeCause]: input.changeCause,
      [annotations.pipeline]: input.pipeline,
      [annotations.instance]: authority.instance,
    });
    if (patched !== 'moved') {
      const event = imageUpdatedEvent({
        name: deployment,
        container,
        image: input.newImage,
        rolloutId: input.rolloutId,
      });
      await recordEvent?.(clients, workloadRef(patched), event);
      return { changed: true, generation: patched.metadata.generation, image: input.newImage };
    }
  }
  throw ApplicationFailure.retryable(
    `cluster ${clients.name}: ${where} container ${container} kept changing while we set ${input.newImage}`,
    'DeploymentConflict',
  );
}
