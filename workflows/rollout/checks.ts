// The stage's health checks, run together after each wave and during the soak. A check that
// cannot run counts as failed: nothing unverified is promoted.
import { isCancellation } from '@temporalio/workflow';
import type { CheckOutcome, CheckSpec } from '../../activities/health/types.ts';
import type { StageSpec } from '../rollout-messages.ts';
import { health } from './activities.ts';
import { failureMessage } from './failures.ts';
import { now, type RolloutState, refresh, StageStop } from './state.ts';

/** Runs every check of the stage; a failure stops the stage with the checks that failed. */
export async function runChecks(state: RolloutState, stage: StageSpec, when: string): Promise<void> {
  if (stage.checks.length === 0) return;
  const outcomes = await Promise.all(stage.checks.map((c) => runCheck(c)));
  recordOutcomes(state, outcomes);
  throwIfFailed(outcomes, when);
}

export function recordOutcomes(state: RolloutState, outcomes: CheckOutcome[]): void {
  for (const o of outcomes) {
    const i = state.status.checks.findIndex((c) => c.name === o.name);
    if (i >= 0) state.status.checks[i] = o;
    else state.status.checks.push(o);
  }
  refresh(state);
}

export function throwIfFailed(outcomes: CheckOutcome[], when: string): void {
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length > 0) {
    throw new StageStop(
      'rolled_back',
      'check_failed',
      `${failed.map((f) => `check "${f.name}" failed ${when}: ${f.detail}`).join('; ')}`,
    );
  }
}

async function runCheck(check: CheckSpec): Promise<CheckOutcome> {
  try {
    return await health.runHealthCheck(check);
  } catch (err) {
    if (isCancellation(err)) throw err;
    return {
      name: checkName(check),
      kind: check.kind,
      ok: false,
      detail: `could not run: ${failureMessage(err)}`,
      at: now(),
    };
  }
}

export const checkName = (check: CheckSpec) =>
  check.kind === 'http' ? check.http.name : check.prometheus.name;
