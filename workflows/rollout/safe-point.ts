// Between waves and soak checks: where a pause holds and an abort or a newer digest stops the stage.
import { condition, patched } from '@temporalio/workflow';
import { type RolloutState, setPhase } from './state.ts';

/** A pause ends when a newer digest supersedes the rollout (before it: only resume or abort). */
export const pausedYieldsPatch = 'paused-rollout-yields-to-supersede';

export type SafePointDecision = 'go' | 'aborted' | 'superseded';

/** Waits while paused; says whether the rollout must stop here. */
export async function safePoint(state: RolloutState): Promise<SafePointDecision> {
  const { status } = state;
  if (status.paused && !state.abortedBy) {
    const before = status.phase;
    setPhase(state, 'paused');
    // A paused rollout still yields to a newer digest under supersede: holding an outdated build
    // would keep the newer one waiting for as long as nobody resumes.
    const yields = patched(pausedYieldsPatch);
    await condition(
      () => !status.paused || state.abortedBy !== undefined || (yields && status.supersededBy !== undefined),
    );
    setPhase(state, before);
  }
  if (state.abortedBy) return 'aborted';
  return status.supersededBy ? 'superseded' : 'go';
}
