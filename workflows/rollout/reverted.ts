// A target whose image someone else put back while this rollout waited for it (ImageReverted,
// naming the field manager that owns the image now, such as a GitOps controller). The stage stops
// at once, outcome `reverted`: that target is left to its new owner (rolling it back would fight
// it, and it no longer runs this rollout's image), while the rest of what the stage changed is
// rolled back as after any failure, so the stage is not left half on the new image.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { ImageRevertedDetails } from '../../activities/kubernetes/reverted.ts';
import type { TargetState } from '../rollout-messages.ts';
import { failureMessage } from './failures.ts';
import { type Compensation, StageStop } from './state.ts';

/** An image put back during the wait ends the rollout `reverted` (before it: a not-ready rollback that found drift). */
export const revertedOutcomePatch = 'image-reverted-outcome';

const revertedType = 'ImageReverted';

/** The failure's details when `err` is an ImageReverted activity failure. */
export function revertedDetails(err: unknown): ImageRevertedDetails | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== revertedType) return undefined;
  const details = cause.details?.[0] as Partial<ImageRevertedDetails> | undefined;
  return {
    cluster: details?.cluster ?? '',
    kind: details?.kind ?? '',
    namespace: details?.namespace ?? '',
    name: details?.name ?? '',
    container: details?.container ?? '',
    image: details?.image ?? '',
    currentImage: details?.currentImage ?? '',
    manager: typeof details?.manager === 'string' && details.manager ? details.manager : 'unknown',
  };
}

/** Marks the target reverted, drops its compensation and returns the stop that ends the stage. */
export function stopAsReverted(
  err: unknown,
  details: ImageRevertedDetails,
  target: TargetState,
  compensation: Compensation,
  compensations: Compensation[],
): StageStop {
  const at = compensations.indexOf(compensation);
  if (at >= 0) compensations.splice(at, 1);
  target.state = 'reverted';
  target.image = details.currentImage;
  target.detail = `image put back by field manager ${details.manager}; left alone`;
  return new StageStop('reverted', 'reverted', failureMessage(err));
}
