// The soak after the last wave: the checks keep running for soakMs, in one heartbeating activity
// that ends at a fixed deadline (invariant 15: a 24 h soak must not grow the history by an event
// per check). A pause or a newer digest interrupts the activity; the soak goes on afterwards
// with the same deadline. An abort cancels it with the stage.
import { CancellationScope, condition, patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { HealthActivities } from '../../activities/health/index.ts';
import type { SoakResult } from '../../activities/health/soak.ts';
import { formatDuration } from '../rollout-approval.ts';
import type { StageSpec } from '../rollout-messages.ts';
import { recordOutcomes, runChecks, throwIfFailed } from './checks.ts';
import { failureMessage } from './failures.ts';
import { activeFreeze } from './freeze.ts';
import { safePoint } from './safe-point.ts';
import { type RolloutState, StageStop, setPhase } from './state.ts';

/** The soak runs in one activity (before it: one timer and one round of check activities per interval). */
export const soakInOneActivityPatch = 'soak-in-one-activity';

export async function soak(state: RolloutState, stage: StageSpec): Promise<'succeeded' | 'superseded'> {
  setPhase(state, 'soaking');
  const end = Date.now() + stage.soakMs;
  const when = `during the ${formatDuration(stage.soakMs)} soak`;
  if (!patched(soakInOneActivityPatch)) return soakCheckByCheck(state, stage, end, when);
  const { runSoak } = proxyActivities<HealthActivities>({
    startToCloseTimeout: stage.soakMs + 5 * 60_000,
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
  });
  const { status } = state;
  while (Date.now() < end) {
    const next = await safePoint(state);
    if (next === 'aborted') throw new StageStop('aborted', 'aborted', `aborted by ${state.abortedBy}`);
    if (next === 'superseded') return 'superseded';
    const scope = new CancellationScope();
    let settled: { result: SoakResult } | { error: unknown } | undefined;
    const call = scope
      .run(() => runSoak({ checks: stage.checks, until: end, intervalMs: stage.checkIntervalMs }))
      .then(
        (result) => {
          settled = { result };
        },
        (error: unknown) => {
          settled = { error };
        },
      );
    await condition(
      () =>
        settled !== undefined ||
        status.paused ||
        status.supersededBy !== undefined ||
        (state.freezeAware === true && activeFreeze(state) !== undefined),
    );
    if (!settled) {
      // Paused, frozen or superseded: stop the checks, then the safe point decides.
      scope.cancel();
      await call;
      if (settled && 'error' in settled) continue;
    }
    const done = settled as { result: SoakResult } | { error: unknown };
    if ('error' in done) {
      throw new StageStop(
        'rolled_back',
        'check_failed',
        `checks could not run ${when}: ${failureMessage(done.error)}`,
      );
    }
    recordOutcomes(state, done.result.outcomes);
    throwIfFailed(done.result.outcomes, when);
    return 'succeeded';
  }
  return 'succeeded';
}

/** Rollouts recorded before soakInOneActivityPatch replay through this path. */
async function soakCheckByCheck(
  state: RolloutState,
  stage: StageSpec,
  end: number,
  when: string,
): Promise<'succeeded' | 'superseded'> {
  while (Date.now() < end) {
    const next = await safePoint(state);
    if (next === 'aborted') throw new StageStop('aborted', 'aborted', `aborted by ${state.abortedBy}`);
    if (next === 'superseded') return 'superseded';
    await sleep(Math.min(stage.checkIntervalMs, end - Date.now()));
    await runChecks(state, stage, when);
  }
  return 'succeeded';
}
