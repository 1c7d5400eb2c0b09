// Planning a stage: which targets change, read from the cluster by the planStage activity. A
// problem (a missing Deployment, an ambiguous container) stops the stage before any patch.
import { log } from '@temporalio/workflow';
import type { PlannedTarget } from '../../activities/kubernetes/types.ts';
import type { StageSpec } from '../rollout-messages.ts';
import { kube } from './activities.ts';
import { type RolloutState, StageStop, setPhase } from './state.ts';

/** Plans the stage and adds its targets to the status; returns the targets to update. */
export async function planStage(state: RolloutState, stage: StageSpec): Promise<PlannedTarget[]> {
  const { request } = state.input;
  setPhase(state, 'planning');
  const plan = await kube.planStage({
    pipeline: request.pipeline,
    cluster: stage.cluster,
    targets: stage.targets,
    registryHost: request.registryHost,
    repository: request.repository,
    tag: request.tag,
    digest: request.digest,
  });
  // Warnings change nothing the rollout does: they are shown (status, details) and logged.
  for (const w of plan.warnings ?? []) {
    state.status.warnings = [...(state.status.warnings ?? []), `stage ${stage.name}: ${w.message}`];
    log.warn('plan warning', { stage: stage.name, target: w.target, tools: w.tools, warning: w.message });
  }
  if (plan.problems.length > 0) {
    throw new StageStop('failed', 'plan', `stage ${stage.name}: ${plan.problems.join('; ')}`);
  }
  for (const t of plan.targets) {
    state.status.targets.push({
      stage: stage.name,
      cluster: t.cluster,
      namespace: t.namespace,
      ...(t.kind ? { kind: t.kind } : {}),
      deployment: t.deployment,
      container: t.container,
      state: t.action === 'skip' ? 'skipped' : 'pending',
      previousImage: t.currentImage,
      image: t.currentImage,
      ...(t.reason ? { detail: t.reason } : {}),
    });
  }
  return plan.targets.filter((t) => t.action === 'update');
}
