// The saga's compensation (invariant 4): undo exactly what the stage changed, newest wave first,
// the Deployments of one wave together (at most maxParallel at once), in a scope nothing cancels,
// then wait until they are healthy again. A Deployment someone else changed since is left alone
// and reported (drift). A rollback never gives up while the broken image runs: a patch that keeps
// failing marks the rollout `rollback-stuck` and is retried until it succeeds or an operator
// aborts the rollback.
import { CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import type { RollbackResult } from '../../activities/kubernetes/types.ts';
import { limit } from '../limit.ts';
import { type StageSpec, workloadName } from '../rollout-messages.ts';
import { awaitDeploymentReadyFor, kubeWrite, persistentRollback, report } from './activities.ts';
import { failureMessage } from './failures.ts';
import { notifyEvent } from './notify.ts';
import { type Compensation, now, type RolloutState, refresh, setPhase } from './state.ts';

export interface RollbackSummary {
  problems: string[];
  reverted: number;
}

/** Rollback by wave, bounded, retried until done (before it: one patch after another, given up after the policy's attempts). */
export const rollbackUntilDonePatch = 'rollback-by-wave-until-done';

export async function rollbackStage(
  state: RolloutState,
  stage: StageSpec,
  compensations: Compensation[],
  reason: string,
  label: string,
): Promise<RollbackSummary> {
  if (compensations.length === 0) return { problems: [], reverted: 0 };
  return CancellationScope.nonCancellable(async () => {
    setPhase(state, 'rolling-back');
    const untilDone = patched(rollbackUntilDonePatch);
    const summary = untilDone
      ? await rollbackByWave(state, stage, compensations, reason)
      : await rollbackOneByOne(state, stage, compensations, reason);
    refresh(state);
    notifyEvent(state, stage.name, {
      type: 'rollout.rolled-back',
      reason,
      reasonLabel: label,
      reverted: summary.reverted,
      problems: summary.problems,
    });
    await report
      .reportRolloutEvent({
        kind: 'rollback',
        pipeline: state.input.request.pipeline,
        stage: stage.name,
        reason: label,
      })
      .catch(() => undefined);
    return summary;
  });
}

async function rollbackByWave(
  state: RolloutState,
  stage: StageSpec,
  compensations: Compensation[],
  reason: string,
): Promise<RollbackSummary> {
  const problems: string[] = [];
  const waiting: Promise<void>[] = [];
  let reverted = 0;
  const awaitReady = awaitDeploymentReadyFor(stage.rolloutTimeoutMs);
  const waves = [...new Set(compensations.map((c) => c.wave))].sort((a, b) => b - a);
  for (const wave of waves) {
    const inWave = compensations.filter((c) => c.wave === wave).reverse();
    const bound = limit(inWave[0]?.maxParallel ?? inWave.length);
    const readyBound = limit(inWave[0]?.maxParallel ?? inWave.length);
    await Promise.all(
      inWave.map((c) =>
        bound(async () => {
          const name = workloadName(c.ref);
          let r: Awaited<ReturnType<typeof patchBackUntilDone>>;
          try {
            r = await patchBackUntilDone(state, stage, c, reason);
          } catch (err) {
            c.target.state = 'failed';
            c.target.detail = `rollback failed: ${failureMessage(err)}`;
            problems.push(`${name}: rollback failed: ${failureMessage(err)}`);
            return;
          }
          if (r === 'abandoned') {
            c.target.state = 'failed';
            c.target.detail = `rollback abandoned by ${state.rollbackAbandonedBy}; it may still run ${c.fromImage}`;
            problems.push(
              `${name}: rollback abandoned by ${state.rollbackAbandonedBy}; it may still run ${c.fromImage}`,
            );
            return;
          }
          if (r.result === 'drift') return markDrift(c, r.currentImage, problems);
          reverted++;
          c.target.image = c.toImage;
          waiting.push(
            readyBound(() =>
              awaitReady({
                ref: c.ref,
                image: c.toImage,
                timeoutMs: stage.rolloutTimeoutMs,
                deadlineAt: Date.now() + stage.rolloutTimeoutMs,
              }),
            ).then(
              () => {
                c.target.state = 'rolled_back';
              },
              (err: unknown) => markUnhealthy(c, err, problems),
            ),
          );
        }),
      ),
    );
  }
  await Promise.all(waiting);
  return { problems, reverted };
}

/**
 * One patch back: a first call with the usual retries; if that fails, the rollout shows
 * `rollback-stuck` with the error and the patch is retried by the server (every failure counted
 * as retryable, so missing RBAC or an unreachable cluster are waited out) until it succeeds or an
 * operator aborts. Two activities at most, however long it takes: the history stays small.
 */
async function patchBackUntilDone(
  state: RolloutState,
  stage: StageSpec,
  c: Compensation,
  reason: string,
): Promise<RollbackResult | 'abandoned'> {
  const input = {
    ref: c.ref,
    rolloutId: state.rolloutId,
    fromImage: c.fromImage,
    toImage: c.toImage,
    reason,
  };
  try {
    return await kubeWrite.rollbackDeployment(input);
  } catch (err) {
    if (state.rollbackAbandonedBy) return 'abandoned';
    markStuck(state, stage, c, failureMessage(err));
  }
  const scope = new CancellationScope();
  state.stuckScopes.add(scope);
  try {
    return await scope.run(() => persistentRollback.rollbackDeployment({ ...input, persistent: true }));
  } catch (err) {
    // A cancellation is the operator giving the rollback up; anything else is reported as it is.
    if (isCancellation(err) && state.rollbackAbandonedBy) return 'abandoned';
    throw err;
  } finally {
    state.stuckScopes.delete(scope);
    await clearStuck(state, stage, c);
  }
}

function markStuck(state: RolloutState, stage: StageSpec, c: Compensation, error: string): void {
  const { status } = state;
  const first = !status.rollbackStuck?.length;
  status.rollbackStuck = [
    ...(status.rollbackStuck ?? []),
    {
      namespace: c.ref.namespace,
      ...(c.ref.kind ? { kind: c.ref.kind } : {}),
      deployment: c.ref.deployment,
      since: now(),
      error,
    },
  ];
  c.target.detail = `rollback keeps failing, retrying: ${error}`;
  setPhase(state, 'rollback-stuck');
  if (first) {
    void reportStuck(state, stage, true);
    notifyEvent(state, stage.name, {
      type: 'rollback.stuck',
      target: `${c.ref.namespace}/${c.ref.deployment}`,
      error,
    });
  }
}

async function clearStuck(state: RolloutState, stage: StageSpec, c: Compensation): Promise<void> {
  const { status } = state;
  status.rollbackStuck = (status.rollbackStuck ?? []).filter(
    (s) => s.namespace !== c.ref.namespace || s.kind !== c.ref.kind || s.deployment !== c.ref.deployment,
  );
  if (c.target.detail?.startsWith('rollback keeps failing')) delete c.target.detail;
  if (status.rollbackStuck.length > 0) return;
  delete status.rollbackStuck;
  setPhase(state, 'rolling-back');
  await reportStuck(state, stage, false);
}

async function reportStuck(state: RolloutState, stage: StageSpec, stuck: boolean): Promise<void> {
  await report
    .reportRolloutEvent({
      kind: 'rollback-stuck',
      pipeline: state.input.request.pipeline,
      stage: stage.name,
      stuck,
    })
    .catch(() => undefined);
}

/** Someone else changed the target since this rollout patched it: left alone, and said so. */
function markDrift(c: Compensation, currentImage: string, problems: string[]): void {
  c.target.state = 'drift';
  c.target.detail = `changed by someone else (now ${currentImage || 'gone'}); left alone`;
  problems.push(`${workloadName(c.ref)} drifted to ${currentImage || 'nothing'}; left alone`);
}

function markUnhealthy(c: Compensation, err: unknown, problems: string[]): void {
  c.target.state = 'failed';
  c.target.detail = `rolled back, but not healthy: ${failureMessage(err)}`;
  problems.push(`${workloadName(c.ref)} rolled back but is not healthy: ${failureMessage(err)}`);
}

/** Rollouts recorded before rollbackUntilDonePatch replay through this path. */
async function rollbackOneByOne(
  state: RolloutState,
  stage: StageSpec,
  compensations: Compensation[],
  reason: string,
): Promise<RollbackSummary> {
  const problems: string[] = [];
  const waiting: Promise<void>[] = [];
  let reverted = 0;
  const awaitReady = awaitDeploymentReadyFor(stage.rolloutTimeoutMs);
  for (const c of [...compensations].reverse()) {
    const name = workloadName(c.ref);
    try {
      const r = await kubeWrite.rollbackDeployment({
        ref: c.ref,
        rolloutId: state.rolloutId,
        fromImage: c.fromImage,
        toImage: c.toImage,
        reason,
      });
      if (r.result === 'drift') {
        markDrift(c, r.currentImage, problems);
        continue;
      }
      reverted++;
      c.target.image = c.toImage;
      waiting.push(
        awaitReady({ ref: c.ref, image: c.toImage, timeoutMs: stage.rolloutTimeoutMs }).then(
          () => {
            c.target.state = 'rolled_back';
          },
          (err: unknown) => markUnhealthy(c, err, problems),
        ),
      );
    } catch (err) {
      c.target.state = 'failed';
      c.target.detail = `rollback failed: ${failureMessage(err)}`;
      problems.push(`${name}: rollback failed: ${failureMessage(err)}`);
    }
  }
  await Promise.all(waiting);
  return { problems, reverted };
}
