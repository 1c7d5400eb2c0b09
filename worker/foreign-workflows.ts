// Which of this deployment's workflows another deployment runs. Workflow ids carry the instance
// name (temporal.instance), so a watch or pipeline workflow with one of our ids on another task
// queue means two deployments share an instance name: ours would never get its tasks, so it is
// reported on /readyz and in the log instead of staying silent.
import type { Client } from '@temporalio/client';
import type { Config } from '../config/schema.ts';
import { freezeWorkflowId } from '../workflows/freeze-messages.ts';
import { pipelineWorkflowId } from '../workflows/rollout-messages.ts';
import { watchWorkflowId } from '../workflows/watch-messages.ts';
import { watchParts } from './watches.ts';
import { type ForeignWorkflow, runningTaskQueue } from './workflow-owner.ts';

/** The ids this deployment's watches, pipeline workflows and freeze workflow have. */
export function ownedWorkflowIds(config: Config, partBudgetBytes?: number): string[] {
  const { instance } = config.temporal;
  return [
    ...watchParts(config, [], partBudgetBytes).map((part) => watchWorkflowId(instance, part.name)),
    ...Object.keys(config.pipelines).map((pipeline) => pipelineWorkflowId(instance, pipeline)),
    freezeWorkflowId(instance),
  ];
}

export async function foreignWorkflows(
  client: Client,
  config: Config,
  partBudgetBytes?: number,
): Promise<ForeignWorkflow[]> {
  const ours = config.temporal.taskQueue;
  const found = await Promise.all(
    ownedWorkflowIds(config, partBudgetBytes).map(async (workflowId) => ({
      workflowId,
      taskQueue: await runningTaskQueue(client, workflowId),
    })),
  );
  return found.filter((f): f is ForeignWorkflow => f.taskQueue !== undefined && f.taskQueue !== ours);
}

/** What /readyz and the log say about one: both task queues and the shared instance name. */
export function foreignWorkflowProblem(config: Config, f: ForeignWorkflow): string {
  const { instance, taskQueue } = config.temporal;
  return (
    `runs on task queue "${f.taskQueue}", not this Freshet's "${taskQueue}": another deployment ` +
    `uses the instance name "${instance}"; give each deployment its own temporal.instance`
  );
}
