// Someone put another image into the container while Freshet waited for its own: a GitOps
// controller syncing the old image from Git, or a person. Waiting longer cannot help, so the wait
// ends at once, naming the writer from managedFields, and the workflow ends the rollout
// `reverted` instead of waiting for a readiness timeout.
import { ApplicationFailure } from '@temporalio/common';
import { type ImageFieldOptions, imageWriter } from './field-managers.ts';
import { describeManager } from './gitops.ts';

export const imageRevertedType = 'ImageReverted';

export interface RevertedObject {
  kind: string;
  namespace: string;
  name: string;
  managedFields?: unknown;
}

/** Details of an ImageReverted failure: plain JSON, it lands in the workflow history. */
export interface ImageRevertedDetails {
  cluster: string;
  kind: string;
  namespace: string;
  name: string;
  container: string;
  /** The image Freshet set and waited for. */
  image: string;
  /** The image the container has now; empty when the container is gone. */
  currentImage: string;
  /** The field manager that owns the container's image now; `unknown` when none is recorded. */
  manager: string;
  operation?: string;
  time?: string;
}

export function imageRevertedFailure(
  cluster: string,
  object: RevertedObject,
  container: string,
  image: string,
  currentImage: string | undefined,
  options: ImageFieldOptions = {},
): ApplicationFailure {
  const owner =
    currentImage === undefined ? undefined : imageWriter(object.managedFields, container, options);
  const manager = owner?.manager || 'unknown';
  const now = currentImage === undefined ? 'lost the container' : `was set to ${currentImage}`;
  const details: ImageRevertedDetails = {
    cluster,
    kind: object.kind,
    namespace: object.namespace,
    name: object.name,
    container,
    image,
    currentImage: currentImage ?? '',
    manager,
    ...(owner?.operation ? { operation: owner.operation } : {}),
    ...(owner?.time ? { time: owner.time } : {}),
  };
  return ApplicationFailure.create({
    message:
      `${object.namespace}/${object.name} container ${container} ${now} by field manager ` +
      `${describeManager(manager)} while Freshet waited for ${image}; left to its new owner`,
    type: imageRevertedType,
    nonRetryable: true,
    details: [details],
  });
}
