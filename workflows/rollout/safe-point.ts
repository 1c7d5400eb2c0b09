// Between waves and soak checks: where a pause or a freeze holds, a change window is waited for,
// and an abort or a newer digest stops the stage.
import { condition, patched } from '@temporalio/workflow';
import type { WindowSpec } from '../../activities/windows/window-math.ts';
import { holdWhileFrozen } from './freeze.ts';
import { type RolloutState, setPhase } from './state.ts';
import { waitForWindow } from './window.ts';

/** A pause ends when a newer digest supersedes the rollout (before it: only resume or abort). */
export const pausedYieldsPatch = 'paused-rollout-yields-to-supersede';

export type SafePointDecision = 'go' | 'aborted' | 'superseded';

/**
 * Waits while paused or frozen and, before a wave of a stage with windows, for a window; says
 * whether the rollout must stop here. A freeze or a window does not yield to a newer digest: the
 * caller decides on it once they allow a wave, so no wave ever starts frozen or outside a window.
 */
export async function safePoint(state: RolloutState, windows?: WindowSpec[]): Promise<SafePointDecision> {
  const { status } = state;
  for (;;) {
    if (status.paused && !state.abortedBy) {
      const before = status.phase;
      setPhase(state, 'paused');
      // A paused rollout still yields to a newer digest under supersede: holding an outdated build
      // would keep the newer one waiting for as long as nobody resumes.
      const yields = patched(pausedYieldsPatch);
      await condition(
        () =>
          !status.paused || state.abortedBy !== undefined || (yields && status.supersededBy !== undefined),
      );
      setPhase(state, before);
    }
    if (state.abortedBy) return 'aborted';
    if (status.paused && status.supersededBy) return 'superseded';
    if (await holdWhileFrozen(state)) continue;
    if (windows?.length && (await waitForWindow(state, windows))) continue;
    return status.supersededBy ? 'superseded' : 'go';
  }
}
