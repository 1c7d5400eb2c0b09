// The change-window question a rollout asks before each wave, as a local activity: the time-zone
// math runs on the worker's Node and its answer is recorded in the history, so a replay on a Node
// with other time-zone data repeats the recorded answer instead of computing a different one.
import { ApplicationFailure } from '@temporalio/common';
import { timeZoneProblem, type WindowSpec, windowState } from './window-math.ts';

export interface WindowQuestion {
  windows: WindowSpec[];
  /** The workflow's time (ms since the epoch): the answer is for that instant. */
  at: number;
}

export function createWindowActivities() {
  return {
    async changeWindowState(q: WindowQuestion): Promise<{ open: boolean; opensAt?: number }> {
      for (const w of q.windows) {
        const problem = timeZoneProblem(w.timeZone);
        if (problem) throw ApplicationFailure.nonRetryable(`change window: ${problem}`, 'InvalidWindow');
      }
      return windowState(q.windows, q.at);
    },
  };
}

export type WindowActivities = ReturnType<typeof createWindowActivities>;
