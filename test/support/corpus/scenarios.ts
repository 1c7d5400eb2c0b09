// Every branch the corpus records, in the order `record-corpus.ts` runs them.
import { pipelineContinueAsNew, queue } from './pipeline-scenarios.ts';
import type { Scenario } from './recording.ts';
import {
  checkFailedAfterWave,
  checkFailedInSoak,
  drift,
  firstFailureCancel,
  multiwaveRollback,
} from './rollout-failures.ts';
import {
  abortedDuringWave,
  approvalTimedOut,
  cancelled,
  pausedResumed,
  rejected,
  succeededAfterApproval,
  supersededAtApproval,
  supersededBetweenWaves,
} from './rollout-gates.ts';
import { watchContinueAsNew, watchPacedByBudget, watchRebuildDetected } from './watch-scenarios.ts';
import { frozenDuringSoak, waitedForWindow } from './windows-freezes.ts';

export const scenarios: Scenario[] = [
  multiwaveRollback,
  firstFailureCancel,
  succeededAfterApproval,
  checkFailedAfterWave,
  checkFailedInSoak,
  supersededAtApproval,
  supersededBetweenWaves,
  queue,
  abortedDuringWave,
  cancelled,
  pausedResumed,
  rejected,
  approvalTimedOut,
  drift,
  pipelineContinueAsNew,
  watchRebuildDetected,
  watchContinueAsNew,
  watchPacedByBudget,
  waitedForWindow,
  frozenDuringSoak,
];
