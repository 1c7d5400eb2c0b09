// Reading rollouts back from Temporal: which are running, which wait for an approval.
import type { Client } from '@temporalio/client';
import {
  type RolloutStatus,
  rolloutStatusQuery,
  searchAttributeNames,
} from '../workflows/rollout-messages.ts';

/** True when the namespace knows every search attribute Freshet sets. */
export async function hasSearchAttributes(client: Client, namespace: string): Promise<boolean> {
  try {
    const res = await client.connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set(Object.keys(res.customAttributes ?? {}));
    return Object.values(searchAttributeNames).every((n) => known.has(n));
  } catch {
    return false;
  }
}

/** The status of every running rollout on the task queue (queried from their workflows). */
export async function activeRollouts(client: Client, taskQueue: string): Promise<RolloutStatus[]> {
  const out: RolloutStatus[] = [];
  const query = `WorkflowType = 'rolloutWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`;
  for await (const wf of client.workflow.list({ query })) {
    const status = await client.workflow
      .getHandle(wf.workflowId, wf.runId)
      .query(rolloutStatusQuery)
      .catch(() => undefined);
    if (status) out.push(status);
  }
  return out;
}

export interface PendingApprovalCount {
  pipeline: string;
  stage: string;
  count: number;
}

export async function countPendingApprovals(
  client: Client,
  taskQueue: string,
  searchAttributes: boolean,
): Promise<PendingApprovalCount[]> {
  const counts = new Map<string, PendingApprovalCount>();
  const add = (pipeline: string, stage: string) => {
    const key = `${pipeline}\u0000${stage}`;
    const c = counts.get(key) ?? { pipeline, stage, count: 0 };
    c.count++;
    counts.set(key, c);
  };
  if (searchAttributes) {
    const query =
      `WorkflowType = 'rolloutWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}' ` +
      `AND ${searchAttributeNames.phase} = 'awaiting-approval'`;
    for await (const wf of client.workflow.list({ query })) {
      const attrs = wf.searchAttributes as Record<string, unknown[] | undefined>;
      const pipeline = String(attrs[searchAttributeNames.pipeline]?.[0] ?? 'unknown');
      const stage = String(attrs[searchAttributeNames.stage]?.[0] ?? 'unknown');
      add(pipeline, stage);
    }
  } else {
    for (const s of await activeRollouts(client, taskQueue)) {
      if (s.phase === 'awaiting-approval' && s.approval) add(s.pipeline, s.approval.stage);
    }
  }
  return [...counts.values()];
}
