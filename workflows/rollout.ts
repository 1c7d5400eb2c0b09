// The rollout workflow: one new digest of one image, through the pipeline's stages in order.
// Per stage: approval gate (when required) → plan → waves (update, await ready) → checks after
// each wave → soak. Any failure rolls back exactly what the stage changed, newest first, in a
// non-cancellable scope (invariant 4). Deterministic: time and waiting come from the workflow.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { HealthActivities } from '../activities/health/index.ts';
import type { CheckOutcome, CheckSpec } from '../activities/health/types.ts';
import type { KubernetesActivities } from '../activities/kubernetes/index.ts';
import type { PlannedTarget, TargetRef } from '../activities/kubernetes/types.ts';
import type { RolloutReportActivities } from '../activities/rollout/report.ts';
import { formatDuration, type PendingApproval, pendingApproval, refusalReason } from './rollout-approval.ts';
import { rolloutCurrentDetails } from './rollout-details.ts';
import {
  abortSignal,
  approveSignal,
  type Decision,
  type DecisionInput,
  decideUpdate,
  type Phase,
  pauseSignal,
  type RolloutInput,
  type RolloutOutcome,
  type RolloutResult,
  type RolloutStatus,
  rejectSignal,
  resumeSignal,
  rolloutStatusQuery,
  type StageReport,
  type StageSpec,
  searchAttributeNames,
  supersedeSignal,
  type TargetState,
} from './rollout-messages.ts';
import { chunk, splitIntoWaves } from './rollout-waves.ts';

const kube = proxyActivities<KubernetesActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '20 seconds', maximumAttempts: 10 },
});
// One read and one patch each: a short timeout, so the work of a worker that died moves on soon.
const kubeWrite = proxyActivities<KubernetesActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 20 },
});
const health = proxyActivities<HealthActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 3 },
});
const report = proxyActivities<RolloutReportActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

const phaseKey = defineSearchAttributeKey(searchAttributeNames.phase, SearchAttributeType.KEYWORD);
const stageKey = defineSearchAttributeKey(searchAttributeNames.stage, SearchAttributeType.KEYWORD);

/** Ends a stage: what happened and why. `changed` says whether a rollback is due. */
class StageStop extends Error {
  readonly outcome: RolloutOutcome;
  readonly reasonLabel: string;
  constructor(outcome: RolloutOutcome, reasonLabel: string, message: string) {
    super(message);
    this.outcome = outcome;
    this.reasonLabel = reasonLabel;
  }
}

interface Compensation {
  target: TargetState;
  ref: TargetRef;
  fromImage: string;
  toImage: string;
  /** Waves are undone newest first; the Deployments of one wave together. */
  wave: number;
}

export async function rolloutWorkflow(input: RolloutInput): Promise<RolloutResult> {
  const { request, spec } = input;
  const rolloutId = workflowInfo().workflowId;
  const newImageBase = `${request.registryHost}/${request.repository}:${request.tag}@${request.digest}`;
  const status: RolloutStatus = {
    rolloutId,
    pipeline: request.pipeline,
    image: request.image,
    tag: request.tag,
    digest: request.digest,
    phase: 'planning',
    paused: false,
    stageIndex: 0,
    stages: spec.stages.length,
    targets: [],
    checks: [],
    decisions: [],
    refused: [],
  };
  const stageReports: StageReport[] = [];
  let pending: PendingApproval | undefined;
  let decision: Decision | undefined;
  let abortedBy: string | undefined;
  let activeScope: CancellationScope | undefined;
  const now = () => new Date(Date.now()).toISOString();

  const refresh = () => setCurrentDetails(rolloutCurrentDetails(status));
  let publishedPhase: string | undefined;
  let publishedStage: string | undefined;
  const setPhase = (phase: Phase) => {
    status.phase = phase;
    refresh();
    if (!input.searchAttributes) return;
    if (phase === publishedPhase && status.stage === publishedStage) return;
    publishedPhase = phase;
    publishedStage = status.stage;
    upsertSearchAttributes([
      { key: phaseKey, value: phase },
      ...(status.stage ? [{ key: stageKey, value: status.stage }] : []),
    ]);
  };

  const decide = (d: DecisionInput): string | undefined => {
    const reason = refusalReason(d, pending);
    if (reason) {
      status.refused.push({ by: String(d?.by ?? ''), reason, at: now() });
      log.warn('approval refused', { by: d?.by, reason });
      refresh();
      return reason;
    }
    decision = {
      stage: pending?.stage ?? '',
      decision: d.decision,
      by: d.by.trim(),
      ...(d.comment ? { comment: d.comment } : {}),
      at: now(),
    };
    status.decisions.push(decision);
    return undefined;
  };
  setHandler(approveSignal, (a) => void decide({ ...a, decision: 'approve' }), {
    description: 'Approve the stage waiting for approval: {"by": "name", "comment": "…"}',
  });
  setHandler(rejectSignal, (a) => void decide({ ...a, decision: 'reject' }), {
    description: 'Reject the stage waiting for approval: {"by": "name", "comment": "…"}',
  });
  setHandler(
    decideUpdate,
    (d) => {
      decide(d);
      return `${d.decision === 'approve' ? 'approved' : 'rejected'} stage ${decision?.stage} by ${d.by}`;
    },
    {
      validator: (d) => {
        const reason = refusalReason(d, pending);
        if (!reason) return;
        // The refusal is for the operator: no stack trace of the worker's code with it.
        const refusal = new Error(reason);
        refusal.stack = `Error: ${reason}`;
        throw refusal;
      },
      description:
        'Approve or reject with a visible error when refused: {"decision": "approve", "by": "name"}',
    },
  );
  setHandler(
    pauseSignal,
    () => {
      status.paused = true;
      refresh();
    },
    { description: 'Hold before the next wave or check' },
  );
  setHandler(
    resumeSignal,
    () => {
      status.paused = false;
      refresh();
    },
    { description: 'Go on after pause' },
  );
  setHandler(
    abortSignal,
    (a) => {
      abortedBy = a?.by?.trim() || 'an operator';
      activeScope?.cancel();
    },
    { description: 'Stop now and roll back the current stage: {"by": "name"}' },
  );
  setHandler(
    supersedeSignal,
    (s) => {
      status.supersededBy = s.rolloutId;
      refresh();
    },
    { description: 'A newer digest waits; stop at the next safe point' },
  );
  setHandler(rolloutStatusQuery, () => status, { description: 'Stage, wave, targets and checks' });

  /** Waits while paused; says whether the rollout must stop here. */
  const safePoint = async (): Promise<'go' | 'aborted' | 'superseded'> => {
    if (status.paused && !abortedBy) {
      const before = status.phase;
      setPhase('paused');
      await condition(() => !status.paused || abortedBy !== undefined);
      setPhase(before);
    }
    if (abortedBy) return 'aborted';
    return status.supersededBy ? 'superseded' : 'go';
  };

  async function runChecks(stage: StageSpec, when: string): Promise<void> {
    if (stage.checks.length === 0) return;
    const outcomes = await Promise.all(stage.checks.map((c) => runCheck(c)));
    for (const o of outcomes) {
      const i = status.checks.findIndex((c) => c.name === o.name);
      if (i >= 0) status.checks[i] = o;
      else status.checks.push(o);
    }
    refresh();
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
      const name = check.kind === 'http' ? check.http.name : check.prometheus.name;
      return {
        name,
        kind: check.kind,
        ok: false,
        detail: `could not run: ${failureMessage(err)}`,
        at: now(),
      };
    }
  }

  async function rollTarget(
    stage: StageSpec,
    planned: PlannedTarget,
    wave: number,
    compensations: Compensation[],
  ) {
    const target = status.targets.find(
      (t) =>
        t.stage === stage.name &&
        t.namespace === planned.namespace &&
        t.deployment === planned.deployment &&
        t.container === planned.container,
    );
    if (!target) throw new Error(`no status for ${planned.namespace}/${planned.deployment}`);
    const ref: TargetRef = {
      cluster: planned.cluster,
      namespace: planned.namespace,
      deployment: planned.deployment,
      container: planned.container,
    };
    target.state = 'updating';
    refresh();
    // Registered before the patch: the rollback activity is idempotent, and a patch whose
    // answer was lost must still be undone.
    const compensation = { target, ref, fromImage: newImageBase, toImage: planned.currentImage, wave };
    compensations.push(compensation);
    try {
      await kubeWrite.updateDeploymentImage({
        ref,
        newImage: newImageBase,
        previousImage: planned.currentImage,
        rolloutId,
        changeCause: `freshet ${rolloutId}: ${request.repository}:${request.tag}@${request.digest}`,
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
    target.image = newImageBase;
    try {
      await awaitReady(stage, ref, newImageBase);
    } catch (err) {
      target.state = 'failed';
      target.detail = failureMessage(err);
      throw err;
    }
    target.state = 'ready';
    delete target.detail;
    refresh();
  }

  function awaitReady(stage: StageSpec, ref: TargetRef, image: string) {
    const { awaitDeploymentReady } = proxyActivities<KubernetesActivities>({
      startToCloseTimeout: stage.rolloutTimeoutMs + 60_000,
      heartbeatTimeout: '15 seconds',
      retry: {
        initialInterval: '1 second',
        maximumInterval: '10 seconds',
        maximumAttempts: 5,
        nonRetryableErrorTypes: ['DeploymentNotReady'],
      },
    });
    return awaitDeploymentReady({ ref, image, timeoutMs: stage.rolloutTimeoutMs });
  }

  /** Undoes what the stage changed, newest first, and waits until those Deployments are healthy. */
  async function rollback(stage: StageSpec, compensations: Compensation[], reason: string, label: string) {
    if (compensations.length === 0) return { problems: [] as string[], reverted: 0 };
    return CancellationScope.nonCancellable(async () => {
      setPhase('rolling-back');
      const problems: string[] = [];
      const waiting: Promise<void>[] = [];
      let reverted = 0;
      const undo = async (c: Compensation) => {
        const name = `${c.ref.namespace}/${c.ref.deployment}`;
        try {
          const r = await kubeWrite.rollbackDeployment({
            ref: c.ref,
            rolloutId,
            fromImage: c.fromImage,
            toImage: c.toImage,
            reason,
          });
          if (r.result === 'drift') {
            c.target.state = 'drift';
            c.target.detail = `changed by someone else (now ${r.currentImage || 'gone'}); left alone`;
            problems.push(`${name} drifted to ${r.currentImage || 'nothing'}; left alone`);
            return;
          }
          reverted++;
          c.target.image = c.toImage;
          waiting.push(
            awaitReady(stage, c.ref, c.toImage).then(
              () => {
                c.target.state = 'rolled_back';
              },
              (err: unknown) => {
                c.target.state = 'failed';
                c.target.detail = `rolled back, but not healthy: ${failureMessage(err)}`;
                problems.push(`${name} rolled back but is not healthy: ${failureMessage(err)}`);
              },
            ),
          );
        } catch (err) {
          c.target.state = 'failed';
          c.target.detail = `rollback failed: ${failureMessage(err)}`;
          problems.push(`${name}: rollback failed: ${failureMessage(err)}`);
        }
      };
      // Newest wave first; the Deployments of one wave are patched back together.
      const waves = [...new Set(compensations.map((c) => c.wave))].sort((a, b) => b - a);
      for (const wave of waves) {
        await Promise.all(
          compensations
            .filter((c) => c.wave === wave)
            .reverse()
            .map(undo),
        );
      }
      await Promise.all(waiting);
      refresh();
      await report
        .reportRolloutEvent({
          kind: 'rollback',
          pipeline: request.pipeline,
          stage: stage.name,
          reason: label,
        })
        .catch(() => undefined);
      return { problems, reverted };
    });
  }

  async function awaitApproval(stage: StageSpec, approval: NonNullable<StageSpec['approval']>) {
    const since = Date.now();
    pending = pendingApproval(stage.name, approval, {
      rolloutId,
      digest: request.digest,
      requestedAt: new Date(since).toISOString(),
    });
    decision = undefined;
    status.approval = {
      stage: stage.name,
      since: new Date(since).toISOString(),
      deadline: new Date(since + approval.timeoutMs).toISOString(),
      ...(pending.approvers ? { approvers: pending.approvers } : {}),
    };
    setPhase('awaiting-approval');
    try {
      await condition(
        () => decision !== undefined || abortedBy !== undefined || status.supersededBy !== undefined,
        approval.timeoutMs,
      );
    } finally {
      pending = undefined;
      delete status.approval;
    }
    if (abortedBy)
      throw new StageStop('aborted', 'aborted', `aborted by ${abortedBy} while waiting for approval`);
    // Set by a handler while the condition waited; TypeScript cannot see that.
    const made = decision as Decision | undefined;
    if (made?.decision === 'reject') {
      throw new StageStop(
        'rejected',
        'rejected',
        `stage ${stage.name} rejected by ${made.by}${made.comment ? `: ${made.comment}` : ''}`,
      );
    }
    if (made?.decision === 'approve') return;
    if (status.supersededBy)
      throw new StageStop('superseded', 'superseded', `superseded by ${status.supersededBy}`);
    throw new StageStop(
      'approval_timed_out',
      'approval_timed_out',
      `stage ${stage.name} was not approved within ${formatDuration(approval.timeoutMs)}; nothing was promoted`,
    );
  }

  async function runStage(
    stage: StageSpec,
    compensations: Compensation[],
  ): Promise<'succeeded' | 'superseded'> {
    setPhase('planning');
    const plan = await kube.planStage({
      cluster: stage.cluster,
      targets: stage.targets,
      registryHost: request.registryHost,
      repository: request.repository,
      tag: request.tag,
      digest: request.digest,
    });
    if (plan.problems.length > 0) {
      throw new StageStop('failed', 'plan', `stage ${stage.name}: ${plan.problems.join('; ')}`);
    }
    for (const t of plan.targets) {
      status.targets.push({
        stage: stage.name,
        cluster: t.cluster,
        namespace: t.namespace,
        deployment: t.deployment,
        container: t.container,
        state: t.action === 'skip' ? 'skipped' : 'pending',
        previousImage: t.currentImage,
        image: t.currentImage,
        ...(t.reason ? { detail: t.reason } : {}),
      });
    }
    const waves = splitIntoWaves(
      plan.targets.filter((t) => t.action === 'update'),
      stage.waves,
    );
    for (const wave of waves) {
      const next = await safePoint();
      if (next === 'aborted') throw new StageStop('aborted', 'aborted', `aborted by ${abortedBy}`);
      if (next === 'superseded' && wave.index > 0) return 'superseded';
      status.wave = { index: wave.index, total: waves.length };
      setPhase('rolling-out');
      for (const group of chunk(wave.targets, wave.maxParallel)) {
        // The first failure stops the others' waits: the rollback starts at once, not when the
        // slowest sibling gives up.
        const siblings = new CancellationScope();
        const results = await siblings.run(() =>
          Promise.allSettled(
            group.map((t) =>
              rollTarget(stage, t, wave.index, compensations).catch((err: unknown) => {
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
      setPhase('checking');
      await runChecks(stage, `after wave ${wave.index + 1}/${waves.length}`);
    }
    if (waves.length === 0) await runChecks(stage, 'with every target already on the digest');
    if (stage.soakMs > 0 && waves.length > 0) {
      setPhase('soaking');
      const end = Date.now() + stage.soakMs;
      while (Date.now() < end) {
        const next = await safePoint();
        if (next === 'aborted') throw new StageStop('aborted', 'aborted', `aborted by ${abortedBy}`);
        if (next === 'superseded') return 'superseded';
        await sleep(Math.min(stage.checkIntervalMs, end - Date.now()));
        await runChecks(stage, `during the ${formatDuration(stage.soakMs)} soak`);
      }
    }
    delete status.wave;
    return 'succeeded';
  }

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
      if (abortedBy) throw new StageStop('aborted', 'aborted', `aborted by ${abortedBy}`);
      if (stage.approval) await awaitApproval(stage, stage.approval);
      activeScope = new CancellationScope();
      const result = await activeScope.run(() => runStage(stage, compensations));
      if (result === 'superseded') {
        stageReport.outcome = 'stopped';
        outcome = 'superseded';
        reason = `superseded by ${status.supersededBy} during stage ${stage.name}; a newer digest takes over`;
      }
    } catch (err) {
      const stop = toStageStop(err, abortedBy);
      outcome = stop.outcome;
      const { problems, reverted } = await rollback(stage, compensations, stop.message, stop.reasonLabel);
      if (outcome === 'rolled_back' && compensations.length === 0) outcome = 'failed';
      if (problems.length > 0) outcome = 'failed';
      reason =
        `stage ${stage.name}: ${stop.message}` +
        (compensations.length > 0 ? `; rolled back ${reverted} Deployment${reverted === 1 ? '' : 's'}` : '') +
        (problems.length > 0 ? `; ${problems.join('; ')}` : '');
      stageReport.outcome =
        compensations.length > 0 ? 'rolled_back' : outcome === 'failed' ? 'failed' : 'stopped';
    } finally {
      activeScope = undefined;
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
    reason = `${spec.stages.length} stage${spec.stages.length === 1 ? '' : 's'} succeeded; ${updated} Deployment${updated === 1 ? '' : 's'} updated`;
  }
  status.outcome = outcome;
  status.reason = reason;
  delete status.wave;
  setPhase('done');
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
  log.info('rollout finished', { outcome, reason });
  return {
    rolloutId,
    outcome,
    reason,
    request,
    targets: status.targets,
    stages: stageReports,
    decisions: status.decisions,
  };
}

function toStageStop(err: unknown, abortedBy: string | undefined): StageStop {
  if (err instanceof StageStop) return err;
  if (isCancellation(err))
    return new StageStop('aborted', 'aborted', `aborted by ${abortedBy ?? 'cancellation'}`);
  const message = failureMessage(err);
  const type = err instanceof ActivityFailure ? failureType(err) : undefined;
  const label =
    type === 'DeploymentNotReady' ? 'not_ready' : type === 'DeploymentDrifted' ? 'drift' : 'error';
  return new StageStop('rolled_back', label, message);
}

function failureType(err: ActivityFailure): string | undefined {
  const cause = err.cause;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** The innermost message: an activity failure's own text says only "Activity task failed". */
function failureMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof ActivityFailure && e.cause) e = e.cause;
  return e instanceof Error ? e.message : String(err);
}
