// A freeze holds the rollout at a safe point until it is lifted, by `freshet unfreeze` or its
// `until`. The rollout hears of changes by the freezeChanged signal and, once at its first safe
// point, asks for the state in force, so one that starts while frozen waits before its first wave.
import { condition, log, patched } from '@temporalio/workflow';
import { type ActiveFreeze, type FreezeSnapshot, freezeFor } from '../freeze-messages.ts';
import { freezes } from './activities.ts';
import { failureMessage } from './failures.ts';
import { type RolloutState, refresh, setPhase } from './state.ts';

/** Safe points hold while frozen, and the first asks for the freeze (before it: no freezes). */
export const freezePatch = 'freeze-holds-at-safe-points';

/** The freeze that holds this rollout now, if any. */
export function activeFreeze(state: RolloutState): ActiveFreeze | undefined {
  return freezeFor(state.freeze, state.input.request.pipeline, Date.now());
}

/** Keeps the newest state; signals may arrive out of order with the rollout's own question. */
export function applyFreeze(state: RolloutState, snapshot: FreezeSnapshot): void {
  if (state.freeze && state.freeze.version > snapshot.version) return;
  state.freeze = snapshot;
  publishFreeze(state);
}

function publishFreeze(state: RolloutState): void {
  const f = activeFreeze(state);
  if (f) state.status.freeze = f;
  else delete state.status.freeze;
  refresh(state);
}

/** Whether this run honours freezes; asks for the state in force the first time. */
export async function freezeAware(state: RolloutState): Promise<boolean> {
  if (state.freezeAware !== undefined) return state.freezeAware;
  state.freezeAware = patched(freezePatch);
  if (!state.freezeAware) return false;
  try {
    applyFreeze(state, await freezes.currentFreeze());
  } catch (err) {
    // The freeze workflow tells running rollouts of every change, so one that hears nothing
    // now still stops when a freeze arrives.
    log.warn('could not read the freeze state; going on unless a freeze arrives', {
      error: failureMessage(err),
    });
  }
  return true;
}

/** Holds while a freeze is in force (until lifted or expired, or an abort); true if it held. */
export async function holdWhileFrozen(state: RolloutState): Promise<boolean> {
  if (!(await freezeAware(state)) || !activeFreeze(state)) return false;
  const before = state.status.phase;
  setPhase(state, 'frozen');
  for (let f = activeFreeze(state); f && !state.abortedBy; f = activeFreeze(state)) {
    const until = f.until ? Math.max(1, Date.parse(f.until) - Date.now()) : undefined;
    const version = state.freeze?.version;
    await condition(() => state.freeze?.version !== version || state.abortedBy !== undefined, until);
    publishFreeze(state);
  }
  publishFreeze(state);
  setPhase(state, before);
  return true;
}
