// How a failure inside a stage becomes the stage's stop: its outcome, a bounded reason label for
// metrics and the innermost message for people.
import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { StageStop } from './state.ts';

export function toStageStop(err: unknown, abortedBy: string | undefined): StageStop {
  if (err instanceof StageStop) return err;
  if (isCancellation(err))
    return new StageStop('aborted', 'aborted', `aborted by ${abortedBy ?? 'cancellation'}`);
  const message = failureMessage(err);
  const type = err instanceof ActivityFailure ? failureType(err) : undefined;
  const label =
    type === 'DeploymentNotReady' ? 'not_ready' : type === 'DeploymentDrifted' ? 'drift' : 'error';
  return new StageStop('rolled_back', label, message);
}

export function failureType(err: ActivityFailure): string | undefined {
  const cause = err.cause;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** The innermost message: an activity failure's own text says only "Activity task failed". */
export function failureMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof ActivityFailure && e.cause) e = e.cause;
  return e instanceof Error ? e.message : String(err);
}
