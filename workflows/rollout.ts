// The rollout workflow: one new digest of one image, through the pipeline's stages in order.
// Per stage: approval gate (when required) → plan → waves (update, await ready) → checks after
// each wave → soak. Any failure rolls back exactly what the stage changed, newest first, in a
// non-cancellable scope (docs/architecture.md, invariant 4). The state lives in one object
// (rollout/state.ts); each step is a function in its own file under rollout/. Deterministic:
// time and waiting come from the workflow.
import { CancellationScope, log } from '@temporalio/workflow';
import { report } from './rollout/activities.ts';
import { toStageStop } from './rollout/failures.ts';
import { awaitApproval } from './rollout/gate.ts';
import { setRolloutHandlers } from './rollout/messages.ts';
import { drainNotifications, initNotifications, notifyEvent } from './rollout/notify.ts';
import { rollbackStage } from './rollout/rollback.ts';
import { runStage } from './rollout/stage.ts';
import { type Compensation, createRolloutState, now, StageStop, setPhase } from './rollout/state.ts';
import type { RolloutInput, RolloutOutcome, RolloutResult, StageReport } from './rollout-messages.ts';

export async function rolloutWorkflow(input: RolloutInput): Promise<RolloutResult> {
  const { request, spec } = input;
  const state = createRolloutState(input);
  const { status } = state;
  setRolloutHandlers(state);
  initNotifications(state);
  const stageReports: StageReport[] = [];

  let outcome: RolloutOutcome = 'succeeded';
  let reason = '';
  for (const [index, stage] of spec.stages.entries()) {
    status.stage = stage.name;
    status.stageIndex = index;
    const started = Date.now();
    const stageReport: StageReport = { name: stage.name, outcome: 'succeeded', startedAt: now() };
    stageReports.push(stageReport);
    const compensations: Compensation[] = [];
    try {
      if (status.supersededBy)
        throw new StageStop('superseded', 'superseded', `superseded by ${status.supersededBy}`);
      if (state.abortedBy) throw new StageStop('aborted', 'aborted', `aborted by ${state.abortedBy}`);
      if (stage.approval) await awaitApproval(state, stage, stage.approval);
      state.activeScope = new CancellationScope();
      const result = await state.activeScope.run(() => runStage(state, stage, compensations));
      if (result === 'superseded') {
        stageReport.outcome = 'stopped';
        outcome = 'superseded';
        reason = `superseded by ${status.supersededBy} during stage ${stage.name}; a newer digest takes over`;
      }
    } catch (err) {
      const stop = toStageStop(err, state.abortedBy);
      outcome = stop.outcome;
      const { problems, reverted } = await rollbackStage(
        state,
        stage,
        compensations,
        stop.message,
        stop.reasonLabel,
      );
      if (outcome === 'rolled_back' && compensations.length === 0) outcome = 'failed';
      if (problems.length > 0) outcome = 'failed';
      reason =
        `stage ${stage.name}: ${stop.message}` +
        (compensations.length > 0 ? `; rolled back ${reverted} workload${reverted === 1 ? '' : 's'}` : '') +
        (problems.length > 0 ? `; ${problems.join('; ')}` : '');
      stageReport.outcome =
        compensations.length > 0 ? 'rolled_back' : outcome === 'failed' ? 'failed' : 'stopped';
    } finally {
      state.activeScope = undefined;
      stageReport.finishedAt = now();
    }
    await CancellationScope.nonCancellable(() =>
      report
        .reportRolloutEvent({
          kind: 'stage',
          pipeline: request.pipeline,
          stage: stage.name,
          outcome: stageReport.outcome,
          seconds: (Date.now() - started) / 1_000,
        })
        .catch(() => undefined),
    );
    if (outcome !== 'succeeded') break;
  }
  if (outcome === 'succeeded') {
    const updated = status.targets.filter((t) => t.state === 'ready').length;
    reason = `${spec.stages.length} stage${spec.stages.length === 1 ? '' : 's'} succeeded; ${updated} workload${updated === 1 ? '' : 's'} updated`;
  }
  status.outcome = outcome;
  status.reason = reason;
  delete status.wave;
  setPhase(state, 'done');
  await CancellationScope.nonCancellable(() =>
    report
      .reportRolloutEvent({
        kind: 'outcome',
        pipeline: request.pipeline,
        outcome,
        ...(outcome === 'succeeded'
          ? { timeToProductionSeconds: (Date.now() - Date.parse(request.detectedAt)) / 1_000 }
          : {}),
      })
      .catch(() => undefined),
  );
  const lastStage = status.stage ?? spec.stages[spec.stages.length - 1]?.name ?? '';
  if (outcome === 'succeeded') {
    notifyEvent(state, lastStage, {
      type: 'rollout.succeeded',
      timeToProductionSeconds: (Date.now() - Date.parse(request.detectedAt)) / 1_000,
    });
  } else if (outcome !== 'rolled_back' && outcome !== 'rejected') {
    notifyEvent(state, lastStage, { type: 'rollout.stopped', outcome, reason });
  }
  await drainNotifications(state);
  log.info('rollout finished', { outcome, reason });
  return {
    rolloutId: state.rolloutId,
    outcome,
    reason,
    request,
    targets: status.targets,
    stages: stageReports,
    decisions: status.decisions,
  };
}
