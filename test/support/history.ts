// Reading a workflow's history in tests: its events by type, and the failures a task hit.
import type { Client } from '@temporalio/client';

type Event = NonNullable<
  Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']
>[number];

export async function historyEvents(client: Client, workflowId: string, runId?: string): Promise<Event[]> {
  return (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
}

/** The messages of every WorkflowTaskFailed event: a workflow that input could break has some. */
export async function workflowTaskFailures(client: Client, workflowId: string): Promise<string[]> {
  return (await historyEvents(client, workflowId))
    .filter((e) => e.workflowTaskFailedEventAttributes)
    .map((e) => e.workflowTaskFailedEventAttributes?.failure?.message ?? 'workflow task failed');
}

/** The most activities of one type that were scheduled and not yet closed at any moment of the history. */
export function maxConcurrentActivities(events: Event[], activityType: string): number {
  const open = new Set<string>();
  let max = 0;
  const scheduledType = new Map<string, string>();
  for (const e of events) {
    const id = String(e.eventId);
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      scheduledType.set(id, scheduled.activityType?.name ?? '');
      if (scheduled.activityType?.name === activityType) open.add(id);
      max = Math.max(max, open.size);
      continue;
    }
    const closedBy =
      e.activityTaskCompletedEventAttributes?.scheduledEventId ??
      e.activityTaskFailedEventAttributes?.scheduledEventId ??
      e.activityTaskTimedOutEventAttributes?.scheduledEventId ??
      e.activityTaskCanceledEventAttributes?.scheduledEventId;
    if (closedBy !== undefined && closedBy !== null) open.delete(String(closedBy));
  }
  return max;
}
