// Which task queue runs a workflow: the one deployment that owns its id (workflow ids carry the
// instance name), or another that shares the instance name by mistake.
import type { Client } from '@temporalio/client';

export interface ForeignWorkflow {
  workflowId: string;
  /** The task queue it runs on, not this deployment's. */
  taskQueue: string;
}

/** The task queue of a running workflow; undefined when it is not running or cannot be read. */
export async function runningTaskQueue(client: Client, workflowId: string): Promise<string | undefined> {
  return client.workflow
    .getHandle(workflowId)
    .describe()
    .then((d) => (d.status.name === 'RUNNING' ? d.taskQueue : undefined))
    .catch(() => undefined);
}
