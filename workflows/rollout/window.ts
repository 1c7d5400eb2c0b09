// Change windows: a stage starts a wave only inside one of its windows. Outside, a durable timer
// waits for the next opening; a pause, a freeze or an abort wakes it early, so the safe point
// decides again. The opening is computed by a local activity, recorded in the history.
import { condition, patched } from '@temporalio/workflow';
import { describeWindow, type WindowSpec } from '../../activities/windows/window-math.ts';
import { windows as windowActivities } from './activities.ts';
import { activeFreeze } from './freeze.ts';
import { type RolloutState, refresh, setPhase } from './state.ts';

/** A stage with windows waits for one before each wave (before it: windows did not exist). */
export const windowsPatch = 'stage-change-windows';

/** When no window opens in the next two weeks, look again after a day. */
const lookAgainMs = 86_400_000;

/** Waits for the stage's next window when outside all of them; true if it waited. */
export async function waitForWindow(state: RolloutState, windows: WindowSpec[]): Promise<boolean> {
  if (!patched(windowsPatch)) return false;
  const { status } = state;
  const at = Date.now();
  const answer = await windowActivities.changeWindowState({ windows, at });
  if (answer.open) {
    if (status.window) {
      delete status.window;
      refresh(state);
    }
    return false;
  }
  status.window = {
    ...(answer.opensAt !== undefined ? { opensAt: new Date(answer.opensAt).toISOString() } : {}),
    windows: windows.map(describeWindow),
  };
  const before = status.phase;
  setPhase(state, 'waiting-for-window');
  await condition(
    () => state.abortedBy !== undefined || status.paused || activeFreeze(state) !== undefined,
    Math.max(1, (answer.opensAt ?? at + lookAgainMs) - at),
  );
  setPhase(state, before);
  return true;
}
