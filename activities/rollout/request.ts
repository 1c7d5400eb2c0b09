// Hands a new digest to its pipeline's workflow (signal-with-start), with a snapshot of the
// pipeline as configured now. Used by the watch (as an activity) and by manual triggers.
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../../config/schema.ts';
import {
  legacyPipelineWorkflowId,
  type PipelineInput,
  type PipelineRequest,
  pipelineWorkflowId,
  type RolloutRequest,
  requestRolloutSignal,
  rolloutWorkflowId,
} from '../../workflows/rollout-messages.ts';
import { canonicalRepository } from '../watch/image-reference.ts';
import { pipelineSpec, registryHost } from './pipeline-spec.ts';

export type RolloutAsk = Omit<RolloutRequest, 'registryHost'>;

export interface RolloutRequestContext {
  client: Client;
  config: Config;
  /** Whether the server has Freshet's search attributes registered. */
  searchAttributes: boolean;
}

export async function requestRollout(
  ctx: RolloutRequestContext,
  ask: RolloutAsk,
): Promise<{ rolloutId: string; pipelineWorkflowId: string }> {
  const pipeline = ctx.config.pipelines[ask.pipeline];
  if (!pipeline) {
    throw ApplicationFailure.nonRetryable(
      `no pipeline named "${ask.pipeline}" in the config (pipelines: ${Object.keys(ctx.config.pipelines).join(', ') || 'none'})`,
      'UnknownPipeline',
    );
  }
  const { instance, taskQueue } = ctx.config.temporal;
  const host = registryHost(ctx.config, ask.registry);
  const request: PipelineRequest = {
    // The instance is this daemon's, whatever the ask says: the rollout's id carries it.
    request: { ...ask, registryHost: host, repository: canonicalRepository(host, ask.repository), instance },
    spec: pipelineSpec(ask.pipeline, pipeline),
    searchAttributes: ctx.searchAttributes,
  };
  const workflowId = await pipelineWorkflowFor(ctx, ask.pipeline);
  await ctx.client.workflow.signalWithStart('pipelineWorkflow', {
    workflowId,
    taskQueue,
    args: [{ pipeline: ask.pipeline } satisfies PipelineInput],
    signal: requestRolloutSignal,
    signalArgs: [request],
    staticSummary: `pipeline ${ask.pipeline}: one rollout at a time`,
  });
  return {
    rolloutId: rolloutWorkflowId(ask.pipeline, ask.image, ask.digest, instance),
    pipelineWorkflowId: workflowId,
  };
}

/**
 * The pipeline workflow that takes the request: this instance's. One that this task queue
 * started before ids carried the instance keeps getting requests while it runs (it ends once
 * idle), so an upgrade never runs two rollouts of one pipeline at once.
 */
async function pipelineWorkflowFor(ctx: RolloutRequestContext, pipeline: string): Promise<string> {
  const { instance, taskQueue } = ctx.config.temporal;
  const runningOn = (id: string) =>
    ctx.client.workflow
      .getHandle(id)
      .describe()
      .then((d) => (d.status.name === 'RUNNING' ? d.taskQueue : undefined))
      .catch(() => undefined);
  const workflowId = pipelineWorkflowId(instance, pipeline);
  const owner = await runningOn(workflowId);
  // Another deployment with the same instance name would take the request and never run it here.
  if (owner !== undefined && owner !== taskQueue) {
    throw ApplicationFailure.nonRetryable(
      `pipeline workflow ${workflowId} runs on task queue "${owner}", not "${taskQueue}": ` +
        `another Freshet in this Temporal namespace uses the instance name "${instance}"; give each deployment its own temporal.instance`,
      'PipelineOwnedElsewhere',
    );
  }
  if (owner !== undefined) return workflowId;
  const legacy = legacyPipelineWorkflowId(pipeline);
  return (await runningOn(legacy)) === taskQueue ? legacy : workflowId;
}

export function createRolloutRequestActivities(ctx: RolloutRequestContext) {
  return {
    requestRollout: (ask: RolloutAsk) => requestRollout(ctx, ask),
  };
}

export type RolloutRequestActivities = ReturnType<typeof createRolloutRequestActivities>;
