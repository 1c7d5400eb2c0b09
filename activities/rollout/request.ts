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
