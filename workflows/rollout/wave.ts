// One wave: its targets are updated in groups of maxParallel, each waited for until ready. The
// first failure in a group cancels its siblings' waits, so the rollback starts at once.
import { ActivityFailure, CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import type { PlannedTarget, TargetRef } from '../../activities/kubernetes/types.ts';
import type { StageSpec } from '../rollout-messages.ts';
import type { Wave } from '../rollout-waves.ts';
import { chunk } from '../rollout-waves.ts';
import { awaitDeploymentReadyFor, kubeWrite } from './activities.ts';
import { failureMessage, failureType } from './failures.ts';
import { revertedDetails, revertedOutcomePatch, stopAsReverted } from './reverted.ts';
import { type Compensation, type RolloutState, refresh } from './state.ts';

/** The first failure in a group cancels its siblings' waits (before it: each wait ran to its end). */
export const firstFailureCancelsSiblingsPatch = 'wave-first-failure-cancels-siblings';

export async function runWave(
  state: RolloutState,
  stage: StageSpec,
  wave: Wave<PlannedTarget>,
  compensations: Compensation[],
): Promise<void> {
  if (!patched(firstFailureCancelsSiblingsPatch))
    return runWaveOneGroupAtATime(state, stage, wave, compensations);
  for (const group of chunk(wave.targets, wave.maxParallel)) {
    const siblings = new CancellationScope();
    const results = await siblings.run(() =>
      Promise.allSettled(
        group.map((t) =>
          rollTarget(state, stage, t, wave, compensations).catch((err: unknown) => {
            if (!isCancellation(err)) siblings.cancel();
            throw err;
          }),
        ),
      ),
    );
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const failed = rejected.find((r) => !isCancellation(r.reason)) ?? rejected[0];
    if (failed) throw failed.reason;
  }
}

/** Rollouts recorded before firstFailureCancelsSiblingsPatch replay through this path. */
async function runWaveOneGroupAtATime(
  state: RolloutState,
  stage: StageSpec,
  wave: Wave<PlannedTarget>,
  compensations: Compensation[],
): Promise<void> {
  for (const group of chunk(wave.targets, wave.maxParallel)) {
    const results = await Promise.allSettled(
      group.map((t) => rollTarget(state, stage, t, wave, compensations)),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

async function rollTarget(
  state: RolloutState,
  stage: StageSpec,
  planned: PlannedTarget,
  wave: Wave<PlannedTarget>,
  compensations: Compensation[],
): Promise<void> {
  const { request } = state.input;
  const target = state.status.targets.find(
    (t) =>
      t.stage === stage.name &&
      t.namespace === planned.namespace &&
      t.kind === planned.kind &&
      t.deployment === planned.deployment &&
      t.container === planned.container,
  );
  if (!target) throw new Error(`no status for ${planned.namespace}/${planned.deployment}`);
  // Without a kind (a Deployment), the inputs are exactly those of histories before kinds.
  const ref: TargetRef = {
    cluster: planned.cluster,
    namespace: planned.namespace,
    ...(planned.kind ? { kind: planned.kind } : {}),
    deployment: planned.deployment,
    container: planned.container,
  };
  target.state = 'updating';
  refresh(state);
  // Registered before the patch: the rollback activity is idempotent, and a patch whose answer
  // was lost must still be undone.
  const compensation: Compensation = {
    target,
    ref,
    fromImage: state.newImage,
    toImage: planned.currentImage,
    wave: wave.index,
    maxParallel: wave.maxParallel,
  };
  compensations.push(compensation);
  try {
    await kubeWrite.updateDeploymentImage({
      pipeline: request.pipeline,
      ref,
      newImage: state.newImage,
      previousImage: planned.currentImage,
      rolloutId: state.rolloutId,
      changeCause: `freshet ${state.rolloutId}: ${request.repository}:${request.tag}@${request.digest}`,
    });
  } catch (err) {
    if (err instanceof ActivityFailure && failureType(err) === 'DeploymentDrifted') {
      // Not changed by this rollout, so not this rollout's to roll back.
      compensations.splice(compensations.indexOf(compensation), 1);
      target.state = 'drift';
      target.detail = failureMessage(err);
    }
    throw err;
  }
  target.image = state.newImage;
  try {
    await awaitDeploymentReadyFor(stage.rolloutTimeoutMs)({
      ref,
      image: state.newImage,
      timeoutMs: stage.rolloutTimeoutMs,
      deadlineAt: Date.now() + stage.rolloutTimeoutMs,
      ...(planned.awaitNextJob ? { awaitNextJob: true } : {}),
    });
  } catch (err) {
    const reverted = revertedDetails(err);
    if (reverted && patched(revertedOutcomePatch))
      throw stopAsReverted(err, reverted, target, compensation, compensations);
    target.state = 'failed';
    target.detail = failureMessage(err);
    throw err;
  }
  target.state = 'ready';
  delete target.detail;
  refresh(state);
}
