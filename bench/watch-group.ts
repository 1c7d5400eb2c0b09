// A benchmark's view of one watch group, whatever the number of its parts (worker/watch-parts.ts):
// the running watches `<group>`, `<group>/1`, …, their statuses, and one check cycle of all.
import type { Client } from '@temporalio/client';
import { waitFor } from '../test/support/wait.ts';
import {
  checkNowSignal,
  type WatchStatus,
  watchPartName,
  watchStatusQuery,
  watchWorkflowId,
} from '../workflows/watch-messages.ts';

/** The workflow ids of a group's running parts, in part order. */
export async function runningPartIds(client: Client, instance: string, group: string): Promise<string[]> {
  const ids: string[] = [];
  for (let part = 0; ; part++) {
    const workflowId = watchWorkflowId(instance, watchPartName(group, part));
    const status = await client.workflow
      .getHandle(workflowId)
      .describe()
      .then((d) => d.status.name)
      .catch(() => undefined);
    if (status !== 'RUNNING') return ids;
    ids.push(workflowId);
  }
}

export async function groupStatuses(client: Client, workflowIds: readonly string[]): Promise<WatchStatus[]> {
  return Promise.all(workflowIds.map((id) => client.workflow.getHandle(id).query(watchStatusQuery)));
}

/** Asks every part for one check of all its images and waits until each has finished that cycle. */
export async function checkGroupOnce(client: Client, workflowIds: readonly string[]): Promise<void> {
  const before = (await groupStatuses(client, workflowIds)).map((s) => s.cycles);
  await Promise.all(workflowIds.map((id) => client.workflow.getHandle(id).signal(checkNowSignal)));
  await waitFor(
    `a cycle of ${workflowIds.length} watch${workflowIds.length === 1 ? '' : 'es'}`,
    async () => (await groupStatuses(client, workflowIds)).every((s, i) => s.cycles > (before[i] ?? 0)),
    { timeoutMs: 900_000, intervalMs: 500 },
  );
}

export async function terminateGroup(client: Client, instance: string, group: string): Promise<void> {
  for (const workflowId of await runningPartIds(client, instance, group)) {
    await client.workflow
      .getHandle(workflowId)
      .terminate('benchmark over')
      .catch(() => undefined);
  }
}
