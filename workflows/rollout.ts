// The rollout workflow. For now it records the request it was started with; the staged
// rollout (plan, waves, health checks, approvals, rollback) replaces its body.
import { defineQuery, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Trigger } from './watch-messages.ts';

export interface RolloutRequest {
  pipeline: string;
  image: string;
  registry: string;
  repository: string;
  tag: string;
  digest: string;
  created?: string;
  trigger: Trigger;
  /** When the watch first saw the digest (ISO 8601). */
  detectedAt: string;
}

export interface RolloutResult {
  outcome: 'recorded';
  request: RolloutRequest;
  rolloutId: string;
}

export const rolloutRequestQuery = defineQuery<RolloutRequest>('request');

export async function rolloutWorkflow(request: RolloutRequest): Promise<RolloutResult> {
  setHandler(rolloutRequestQuery, () => request);
  return { outcome: 'recorded', request, rolloutId: workflowInfo().workflowId };
}
