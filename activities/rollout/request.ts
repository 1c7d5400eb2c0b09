// Hands a new digest to its pipeline's workflow (signal-with-start), with a snapshot of the
// pipeline as configured now. Used by the watch (as an activity) and by manual triggers.
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../../config/schema.ts';
import {
  type PipelineInput,
  type PipelineRequest,
  pipelineWorkflowId,
  type RolloutRequest,
  requestRolloutSignal,
  rolloutWorkflowId,
} from '../../workflows/rollout-messages.ts';
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
  const request: PipelineRequest = {
    request: { ...ask, registryHost: registryHost(ctx.config, ask.registry) },
    spec: pipelineSpec(ask.pipeline, pipeline),
    searchAttributes: ctx.searchAttributes,
  };
  const workflowId = pipelineWorkflowId(ask.pipeline);
  // Another Freshet (another task queue) in this namespace with a pipeline of the same name would
  // take the request and never run it here.
  const running = await ctx.client.workflow
    .getHandle(workflowId)
    .describe()
    .then((d) => (d.status.name === 'RUNNING' ? d.taskQueue : undefined))
    .catch(() => undefined);
  if (running && running !== ctx.config.temporal.taskQueue) {
    throw ApplicationFailure.nonRetryable(
      `pipeline workflow ${workflowId} runs on task queue "${running}", not "${ctx.config.temporal.taskQueue}": ` +
        'another Freshet in this Temporal namespace has a pipeline of the same name; rename one, or give each its own namespace',
      'PipelineOwnedElsewhere',
    );
  }
  await ctx.client.workflow.signalWithStart('pipelineWorkflow', {
    workflowId,
    taskQueue: ctx.config.temporal.taskQueue,
    args: [{ pipeline: ask.pipeline } satisfies PipelineInput],
    signal: requestRolloutSignal,
    signalArgs: [request],
    staticSummary: `pipeline ${ask.pipeline}: one rollout at a time`,
  });
  return {
    rolloutId: rolloutWorkflowId(ask.pipeline, ask.image, ask.digest),
    pipelineWorkflowId: workflowId,
  };
}

export function createRolloutRequestActivities(ctx: RolloutRequestContext) {
  return {
    requestRollout: (ask: RolloutAsk) => requestRollout(ctx, ask),
  };
}

export type RolloutRequestActivities = ReturnType<typeof createRolloutRequestActivities>;
